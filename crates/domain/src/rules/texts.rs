//! Titles and general explanations of each rule, in English and Bahasa Indonesia.

use super::finding::RuleCode;

/// (title_en, title_id, explain_en, explain_id) of a rule.
type Texts = (&'static str, &'static str, &'static str, &'static str);

impl RuleCode {
    /// Short title in English.
    pub fn title_en(&self) -> &'static str {
        texts(*self).0
    }

    /// Short title in Bahasa Indonesia.
    pub fn title_id(&self) -> &'static str {
        texts(*self).1
    }

    /// What the rule checks and why, in English.
    pub fn explain_en(&self) -> &'static str {
        texts(*self).2
    }

    /// What the rule checks and why, in Bahasa Indonesia.
    pub fn explain_id(&self) -> &'static str {
        texts(*self).3
    }
}

fn texts(rule: RuleCode) -> Texts {
    use RuleCode::*;
    match rule {
        PermitWithoutAssignment => (
            "Work permit without an active assignment",
            "Izin tinggal kerja tanpa penugasan aktif",
            "The worker holds a valid ITAS or ITAP sponsored by an employer, but manpower has no \
             active assignment for them: either the assignment was not reported or the worker no \
             longer works in an approved position.",
            "Pekerja memegang ITAS atau ITAP yang berlaku dengan penjamin pemberi kerja, tetapi \
             tidak ada penugasan aktif yang tercatat di ketenagakerjaan: penugasan belum \
             dilaporkan atau pekerja tidak lagi bekerja pada jabatan yang disetujui.",
        ),
        AssignmentWithoutPermit => (
            "Active assignment without a valid ITAS or ITAP",
            "Penugasan aktif tanpa ITAS atau ITAP yang berlaku",
            "Manpower records an active assignment, but immigration has no valid ITAS or ITAP for \
             the worker, so they may be working without a stay permit for work.",
            "Ketenagakerjaan mencatat penugasan aktif, tetapi imigrasi tidak memiliki ITAS atau \
             ITAP yang berlaku untuk pekerja, sehingga pekerja mungkin bekerja tanpa izin \
             tinggal untuk bekerja.",
        ),
        WorkingOnVisitPermit => (
            "Working on a visit permit (ITK)",
            "Bekerja dengan izin tinggal kunjungan (ITK)",
            "The worker was seen at a work site or with an employer on a day when their only \
             valid stay permit was a visit permit (ITK), whose holder may not work.",
            "Pekerja terlihat di lokasi kerja atau bersama pemberi kerja pada hari ketika izin \
             tinggal yang berlaku hanya izin tinggal kunjungan (ITK), yang pemegangnya tidak \
             boleh bekerja.",
        ),
        OutsideApprovedLocation => (
            "Seen outside the RPTKA location scope",
            "Terlihat di luar lokasi kerja RPTKA",
            "The worker was seen in a region outside the location scope of the RPTKA approval \
             of their active assignment.",
            "Pekerja terlihat di wilayah di luar lokasi kerja yang disetujui dalam RPTKA untuk \
             penugasan aktifnya.",
        ),
        PresentAfterExpiry => (
            "Seen after the permit or assignment ended",
            "Terlihat setelah izin tinggal atau penugasan berakhir",
            "The worker was seen on a day after the last valid day of every stay permit they \
             held, or after the end of every assignment they had.",
            "Pekerja terlihat pada hari setelah hari terakhir berlakunya semua izin tinggal yang \
             dimilikinya, atau setelah semua penugasannya berakhir.",
        ),
        HeadcountOverQuota => (
            "More active assignments than the approved headcount",
            "Penugasan aktif melebihi jumlah yang disetujui",
            "The employer has more active assignments in a position than the RPTKA approval \
             allows for that position.",
            "Pemberi kerja memiliki penugasan aktif pada suatu jabatan melebihi jumlah yang \
             disetujui dalam RPTKA untuk jabatan tersebut.",
        ),
        NoCompanion => (
            "No Indonesian companion worker",
            "Tanpa tenaga kerja pendamping",
            "An active assignment in a position other than director or commissioner names no \
             Indonesian companion worker (tenaga kerja pendamping) to learn the skills.",
            "Penugasan aktif pada jabatan selain direksi atau komisaris tidak mencantumkan \
             tenaga kerja pendamping untuk alih keahlian.",
        ),
        ClosedPosition => (
            "Position closed to foreign workers",
            "Jabatan tertutup bagi tenaga kerja asing",
            "An RPTKA approval in force includes a position closed to foreign workers (human \
             resources roles, Kepmenaker 349/2019).",
            "RPTKA yang berlaku memuat jabatan yang tertutup bagi tenaga kerja asing (jabatan \
             bidang personalia, Kepmenaker 349/2019).",
        ),
        SponsorMismatch => (
            "Permit sponsor differs from the employer",
            "Penjamin izin tinggal berbeda dengan pemberi kerja",
            "The employer sponsoring the worker's valid ITAS or ITAP is not the employer of \
             their active assignment: the worker may have been lent to another company.",
            "Pemberi kerja yang menjamin ITAS atau ITAP pekerja bukan pemberi kerja pada \
             penugasan aktifnya: pekerja mungkin dipinjamkan ke perusahaan lain.",
        ),
        PassportExpiresFirst => (
            "Passport expires before the permit or assignment ends",
            "Paspor habis berlaku sebelum izin tinggal atau penugasan berakhir",
            "The passport a valid permit or an active assignment was issued on expires before \
             the permit or assignment ends; the permit will have to be moved to a new passport.",
            "Paspor yang menjadi dasar izin tinggal atau penugasan habis berlaku sebelum izin \
             tinggal atau penugasan berakhir; izin tinggal perlu dipindahkan ke paspor baru.",
        ),
        IdentityConflict => (
            "Agencies disagree on the identity",
            "Data identitas berbeda antarinstansi",
            "Two agencies give a different name or birth date for the same passport; one of the \
             records is probably wrong.",
            "Dua instansi mencatat nama atau tanggal lahir yang berbeda untuk paspor yang sama; \
             salah satu catatan kemungkinan keliru.",
        ),
        ExpiringSoon => (
            "Expiring within 30 days",
            "Berakhir dalam 30 hari",
            "A valid stay permit or an active assignment ends within 30 days; the owning agency \
             may expect an extension or a departure.",
            "Izin tinggal yang berlaku atau penugasan aktif berakhir dalam 30 hari; instansi \
             pemilik data dapat menantikan perpanjangan atau kepulangan.",
        ),
        EmployerNotRegistered => (
            "Employer not registered",
            "Pemberi kerja belum terdaftar",
            "Records name an employer by NIB that no agency has registered yet (agencies may push \
             in any order); until the employer record arrives its sector, region and name are \
             unknown to the statistics.",
            "Data menyebut pemberi kerja dengan NIB yang belum didaftarkan oleh instansi mana pun \
             (instansi dapat mengirim data dalam urutan apa pun); sampai data pemberi kerja \
             masuk, sektor, wilayah dan namanya tidak diketahui oleh statistik.",
        ),
        SeenOverPermitted => (
            "More people seen on site than permitted",
            "Orang terlihat di lokasi melebihi yang diizinkan",
            "A headcount at the employer counted more foreign workers in a district than the \
             employer has active assignments permitted there.",
            "Penghitungan di lokasi pemberi kerja mendapati lebih banyak tenaga kerja asing di \
             suatu kecamatan daripada penugasan aktif pemberi kerja yang diizinkan di sana.",
        ),
        PossibleSamePerson => (
            "Possibly one person under two workers",
            "Kemungkinan satu orang tercatat sebagai dua pekerja",
            "Two workers agree on name, birth date or a passport number one slip apart (or one \
             passport renewed the other): they are probably one person counted twice, with half \
             of the records on each. Immigration confirms the pair (the workers are merged) or \
             rejects it.",
            "Dua pekerja sama nama, tanggal lahir atau nomor paspornya hanya berbeda satu \
             karakter (atau paspor yang satu memperbarui yang lain): kemungkinan satu orang \
             terhitung dua kali, dengan separuh data pada masing-masing. Imigrasi mengonfirmasi \
             pasangan ini (pekerja digabung) atau menolaknya.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_distinct_texts_in_both_languages() {
        let mut titles = std::collections::HashSet::new();
        for r in RuleCode::ALL {
            for t in [r.title_en(), r.title_id(), r.explain_en(), r.explain_id()] {
                assert!(!t.is_empty(), "{r}");
                assert!(!t.contains("  "), "{r}: {t}");
            }
            assert_ne!(r.title_en(), r.title_id());
            assert!(titles.insert(r.title_en()), "{r}");
        }
    }
}
