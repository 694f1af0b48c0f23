/* Sinergi supervisors' dashboard: plain JavaScript, no dependencies, no
 * requests to other hosts. Reads only aggregate statistics and findings with
 * the signed-in client's bearer token, kept in sessionStorage (this tab only). */
(function () {
  'use strict';

  var KUKAR = '64.02';
  var TOKEN_KEY = 'sinergi.dashboard.token';
  var LANG_KEY = 'sinergi.dashboard.lang';
  var SVG_NS = 'http://www.w3.org/2000/svg';

  // ---- Labels -------------------------------------------------------------

  var DICT = {
    id: {
      title: 'Dasbor Pengawasan Tenaga Kerja Asing',
      subtitle: 'Kabupaten Kutai Kartanegara · data bersama antarinstansi (Sinergi)',
      signinTitle: 'Masuk',
      signinIntro: 'Masuk dengan klien API instansi Anda (Kesbangpol, Disnaker, kecamatan, imigrasi).',
      signinStorage: 'Token hanya disimpan di tab ini dan hilang saat tab ditutup. Rahasia klien tidak disimpan.',
      clientId: 'ID klien',
      clientSecret: 'Rahasia klien',
      signIn: 'Masuk',
      signingIn: 'Sedang masuk…',
      orToken: 'Atau tempel token akses',
      accessToken: 'Token akses',
      useToken: 'Gunakan token',
      region: 'Wilayah',
      asOf: 'Per tanggal',
      refresh: 'Muat ulang',
      signOut: 'Keluar',
      signedInAs: 'Masuk sebagai {agency} ({kind})',
      validUntil: 'berlaku sampai {time}',
      allKukar: 'Seluruh Kutai Kartanegara',
      districtPrefix: 'Kec. ',
      kpiWorkers: 'Pekerja asing aktif',
      kpiWorkersNote: 'per {date}',
      kpiWorkersDoubles: 'per {date}; hingga {n} di antaranya mungkin terhitung dua kali',
      kpiFindings: 'Temuan terbuka',
      kpiFindingsNote: '{n} aturan kepatuhan',
      kpiHigh: 'Temuan tingkat tinggi',
      kpiHighNote: 'perlu tindakan segera',
      kpiOverSeen: 'Pemberi kerja: terlihat > diizinkan',
      kpiOverNote: 'dari {n} pemberi kerja',
      trendTitle: 'Tren pekerja asing aktif',
      trendNote: 'Tanggal 1 setiap bulan selama 12 bulan terakhir, dan tanggal yang dipilih.',
      bySector: 'Pekerja aktif menurut sektor',
      byNationality: 'Pekerja aktif menurut kewarganegaraan',
      byDistrict: 'Pekerja aktif menurut kecamatan',
      byLevel: 'Pekerja aktif menurut tingkat jabatan',
      findingsByRule: 'Temuan terbuka menurut aturan',
      findingsByDistrict: 'Temuan terbuka menurut kecamatan',
      gapTitle: 'Pemberi kerja: diizinkan dan terlihat di lokasi',
      gapNote: 'Diizinkan: pekerja dengan penugasan aktif. Terlihat: laporan jumlah orang terakhir (90 hari) dan pekerja yang terlihat (30 hari). Selisih positif: lebih banyak orang terlihat daripada yang diizinkan.',
      findingsTitle: 'Temuan terbuka',
      findingsShown: 'Menampilkan {shown} dari {total} temuan, tingkat tertinggi lebih dulu.',
      employer: 'Pemberi kerja',
      permitted: 'Diizinkan',
      seen: 'Terlihat',
      gap: 'Selisih',
      rule: 'Aturan',
      severity: 'Tingkat',
      district: 'Kecamatan',
      responsible: 'Penanggung jawab',
      status: 'Status',
      message: 'Keterangan',
      group: 'Kelompok',
      count: 'Jumlah',
      share: 'Porsi',
      date: 'Tanggal',
      showNumbers: 'Tampilkan angka',
      noData: 'Tidak ada data untuk pilihan ini.',
      noFindings: 'Tidak ada temuan terbuka.',
      loading: 'Memuat…',
      total: 'Total',
      suppressed: 'disembunyikan (1–2 orang)',
      privacy: 'Dasbor ini hanya menampilkan angka agregat dan temuan kepatuhan tanpa nama atau nomor paspor.',
      suppressNote: '“< 3”: jumlah 1 atau 2 orang disembunyikan agar tidak ada orang yang dapat dikenali; angka ini tidak ditebak.',
      errExpired: 'Sesi Anda telah berakhir. Silakan masuk lagi.',
      errInvalidToken: 'Token tidak valid. Silakan masuk lagi.',
      errForbidden: 'Klien ini tidak berhak membaca data (perlu cakupan records:read).',
      errNoScope: 'Token ini tidak memiliki cakupan records:read; dasbor tidak dapat membaca data.',
      errBadClient: 'ID klien atau rahasia klien salah.',
      errRateLimited: 'Terlalu banyak permintaan. Coba lagi dalam {s} detik.',
      errServer: 'Server Sinergi mengalami gangguan (kode {status}). Coba lagi nanti. ID permintaan: {id}',
      errNetwork: 'Tidak dapat menghubungi server Sinergi. Periksa jaringan lalu muat ulang.',
      errRequest: 'Permintaan ditolak: {detail}',
      errCard: 'Gagal memuat bagian ini: {msg}',
      months: ['Jan', 'Feb', 'Mar', 'Apr', 'Mei', 'Jun', 'Jul', 'Agu', 'Sep', 'Okt', 'Nov', 'Des'],
      severities: { high: 'Tinggi', medium: 'Sedang', low: 'Rendah', info: 'Info' },
      statuses: { open: 'Terbuka', acknowledged: 'Ditindaklanjuti', resolved: 'Selesai' },
      kinds: {
        immigration: 'Imigrasi', manpower: 'Ketenagakerjaan', regional: 'Pemerintah daerah',
        district: 'Kecamatan', admin: 'Admin Sinergi'
      },
      levels: {
        director: 'Direktur', commissioner: 'Komisaris', manager: 'Manajer',
        professional: 'Profesional', advisor: 'Penasihat', unknown: 'Tidak diketahui'
      },
      unknown: 'Tidak diketahui',
      sectors: {
        agriculture: 'Pertanian, kehutanan dan perikanan',
        mining: 'Pertambangan dan penggalian',
        manufacturing: 'Industri pengolahan',
        electricity: 'Listrik dan gas',
        water_waste: 'Air, limbah dan daur ulang',
        construction: 'Konstruksi',
        trade: 'Perdagangan besar dan eceran',
        transport: 'Pengangkutan dan pergudangan',
        accommodation: 'Akomodasi dan makan minum',
        information: 'Informasi dan komunikasi',
        finance: 'Keuangan dan asuransi',
        real_estate: 'Real estat',
        professional: 'Profesional, ilmiah dan teknis',
        administrative: 'Jasa persewaan dan penunjang usaha',
        public_administration: 'Administrasi pemerintahan',
        education: 'Pendidikan',
        health: 'Kesehatan dan kegiatan sosial',
        arts: 'Kesenian, hiburan dan rekreasi',
        other_services: 'Jasa lainnya',
        households: 'Rumah tangga',
        extra_territorial: 'Badan internasional'
      },
      countries: {
        CHN: 'Tiongkok', JPN: 'Jepang', KOR: 'Korea Selatan', IND: 'India', MYS: 'Malaysia',
        AUS: 'Australia', PHL: 'Filipina', THA: 'Thailand', LKA: 'Sri Lanka', SGP: 'Singapura',
        TWN: 'Taiwan', VNM: 'Vietnam', USA: 'Amerika Serikat', GBR: 'Inggris', DEU: 'Jerman',
        FRA: 'Prancis', NLD: 'Belanda', CAN: 'Kanada', ZAF: 'Afrika Selatan', RUS: 'Rusia',
        PAK: 'Pakistan', BGD: 'Bangladesh', NPL: 'Nepal', MMR: 'Myanmar', TUR: 'Turki',
        HKG: 'Hong Kong', NZL: 'Selandia Baru', ITA: 'Italia', ESP: 'Spanyol', BRA: 'Brasil'
      },
      rules: {
        PERMIT_WITHOUT_ASSIGNMENT: 'Izin tinggal kerja tanpa penugasan aktif',
        ASSIGNMENT_WITHOUT_PERMIT: 'Penugasan aktif tanpa ITAS atau ITAP yang berlaku',
        WORKING_ON_VISIT_PERMIT: 'Bekerja dengan izin tinggal kunjungan (ITK)',
        OUTSIDE_APPROVED_LOCATION: 'Terlihat di luar lokasi kerja RPTKA',
        PRESENT_AFTER_EXPIRY: 'Terlihat setelah izin tinggal atau penugasan berakhir',
        HEADCOUNT_OVER_QUOTA: 'Penugasan aktif melebihi jumlah yang disetujui',
        NO_COMPANION: 'Tanpa tenaga kerja pendamping',
        CLOSED_POSITION: 'Jabatan tertutup bagi tenaga kerja asing',
        SPONSOR_MISMATCH: 'Penjamin izin tinggal berbeda dengan pemberi kerja',
        PASSPORT_EXPIRES_FIRST: 'Paspor habis berlaku sebelum izin tinggal atau penugasan berakhir',
        IDENTITY_CONFLICT: 'Data identitas berbeda antarinstansi',
        EXPIRING_SOON: 'Berakhir dalam 30 hari',
        SEEN_OVER_PERMITTED: 'Orang terlihat di lokasi melebihi yang diizinkan'
      }
    },
    en: {
      title: 'Foreign Worker Supervision Dashboard',
      subtitle: 'Kutai Kartanegara Regency · data shared between agencies (Sinergi)',
      signinTitle: 'Sign in',
      signinIntro: 'Sign in with your agency\u2019s API client (Kesbangpol, manpower, district, immigration).',
      signinStorage: 'The token is kept in this tab only and is gone when the tab closes. The client secret is not stored.',
      clientId: 'Client ID',
      clientSecret: 'Client secret',
      signIn: 'Sign in',
      signingIn: 'Signing in…',
      orToken: 'Or paste an access token',
      accessToken: 'Access token',
      useToken: 'Use token',
      region: 'Region',
      asOf: 'As of',
      refresh: 'Reload',
      signOut: 'Sign out',
      signedInAs: 'Signed in as {agency} ({kind})',
      validUntil: 'valid until {time}',
      allKukar: 'All of Kutai Kartanegara',
      districtPrefix: '',
      kpiWorkers: 'Active foreign workers',
      kpiWorkersNote: 'as of {date}',
      kpiWorkersDoubles: 'as of {date}; up to {n} of them possibly counted twice',
      kpiFindings: 'Open findings',
      kpiFindingsNote: '{n} compliance rules',
      kpiHigh: 'High-severity findings',
      kpiHighNote: 'need action now',
      kpiOverSeen: 'Employers: seen > permitted',
      kpiOverNote: 'of {n} employers',
      trendTitle: 'Active foreign workers over time',
      trendNote: 'The first day of each of the last 12 months, and the selected date.',
      bySector: 'Active workers by sector',
      byNationality: 'Active workers by nationality',
      byDistrict: 'Active workers by district',
      byLevel: 'Active workers by position level',
      findingsByRule: 'Open findings by rule',
      findingsByDistrict: 'Open findings by district',
      gapTitle: 'Employers: permitted and seen on site',
      gapNote: 'Permitted: workers with an active assignment. Seen: the latest headcount report (90 days) plus workers seen (30 days). A positive gap means more people seen than permitted.',
      findingsTitle: 'Open findings',
      findingsShown: 'Showing {shown} of {total} findings, most severe first.',
      employer: 'Employer',
      permitted: 'Permitted',
      seen: 'Seen',
      gap: 'Gap',
      rule: 'Rule',
      severity: 'Severity',
      district: 'District',
      responsible: 'Responsible',
      status: 'Status',
      message: 'Details',
      group: 'Group',
      count: 'Count',
      share: 'Share',
      date: 'Date',
      showNumbers: 'Show the numbers',
      noData: 'No data for this selection.',
      noFindings: 'No open findings.',
      loading: 'Loading…',
      total: 'Total',
      suppressed: 'hidden (1–2 people)',
      privacy: 'This dashboard shows only aggregate counts and compliance findings without names or passport numbers.',
      suppressNote: '\u201c< 3\u201d: counts of 1 or 2 people are hidden so that no one can be singled out; they are never estimated.',
      errExpired: 'Your session has expired. Please sign in again.',
      errInvalidToken: 'The token is not valid. Please sign in again.',
      errForbidden: 'This client may not read records (it needs the records:read scope).',
      errNoScope: 'This token lacks the records:read scope; the dashboard cannot read data.',
      errBadClient: 'Wrong client ID or client secret.',
      errRateLimited: 'Too many requests. Try again in {s} seconds.',
      errServer: 'The Sinergi server had a problem (status {status}). Try again later. Request id: {id}',
      errNetwork: 'Cannot reach the Sinergi server. Check the network, then reload.',
      errRequest: 'Request refused: {detail}',
      errCard: 'Could not load this part: {msg}',
      months: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
      severities: { high: 'High', medium: 'Medium', low: 'Low', info: 'Info' },
      statuses: { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' },
      kinds: {
        immigration: 'Immigration', manpower: 'Manpower', regional: 'Regional government',
        district: 'District office', admin: 'Sinergi admin'
      },
      levels: {
        director: 'Director', commissioner: 'Commissioner', manager: 'Manager',
        professional: 'Professional', advisor: 'Advisor', unknown: 'Unknown'
      },
      unknown: 'Unknown',
      sectors: {
        agriculture: 'Agriculture, forestry and fishing',
        mining: 'Mining and quarrying',
        manufacturing: 'Manufacturing',
        electricity: 'Electricity and gas',
        water_waste: 'Water, waste and remediation',
        construction: 'Construction',
        trade: 'Wholesale and retail trade',
        transport: 'Transportation and storage',
        accommodation: 'Accommodation and food',
        information: 'Information and communication',
        finance: 'Finance and insurance',
        real_estate: 'Real estate',
        professional: 'Professional, scientific, technical',
        administrative: 'Administrative and support services',
        public_administration: 'Public administration',
        education: 'Education',
        health: 'Health and social work',
        arts: 'Arts, entertainment and recreation',
        other_services: 'Other services',
        households: 'Households',
        extra_territorial: 'Extraterritorial organisations'
      },
      countries: {},
      rules: {
        PERMIT_WITHOUT_ASSIGNMENT: 'Work permit without an active assignment',
        ASSIGNMENT_WITHOUT_PERMIT: 'Active assignment without a valid ITAS or ITAP',
        WORKING_ON_VISIT_PERMIT: 'Working on a visit permit (ITK)',
        OUTSIDE_APPROVED_LOCATION: 'Seen outside the RPTKA location scope',
        PRESENT_AFTER_EXPIRY: 'Seen after the permit or assignment ended',
        HEADCOUNT_OVER_QUOTA: 'More active assignments than the approved headcount',
        NO_COMPANION: 'No Indonesian companion worker',
        CLOSED_POSITION: 'Position closed to foreign workers',
        SPONSOR_MISMATCH: 'Permit sponsor differs from the employer',
        PASSPORT_EXPIRES_FIRST: 'Passport expires before the permit or assignment ends',
        IDENTITY_CONFLICT: 'Agencies disagree on the identity',
        EXPIRING_SOON: 'Expiring within 30 days',
        SEEN_OVER_PERMITTED: 'More people seen on site than permitted'
      }
    }
  };

  var SEVERITY_ORDER = { high: 0, medium: 1, low: 2, info: 3 };

  // ---- State --------------------------------------------------------------

  var state = {
    lang: 'id',
    token: null,
    claims: null,
    region: KUKAR,
    asOf: null,
    districts: {}, // code -> label, learned from the statistics responses
    data: {}, // last responses, re-rendered on a language switch
    errors: {}, // card id -> message
    expiryTimer: null,
    signinMessage: null, // () -> text of the sign-in error, in the current language
    load: 0 // sequence number: answers to an older load are ignored
  };

  function t(key, vars) {
    var s = DICT[state.lang][key];
    if (s === undefined) s = DICT.id[key];
    if (typeof s !== 'string') return s;
    return s.replace(/\{(\w+)\}/g, function (_, k) {
      return vars && vars[k] !== undefined ? String(vars[k]) : '';
    });
  }

  function lookup(table, key, fallback) {
    var v = DICT[state.lang][table][key];
    return v !== undefined ? v : fallback;
  }

  function fmt(n) {
    var s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, state.lang === 'id' ? '.' : ',');
    return (n < 0 ? '\u2212' : '') + s;
  }

  function pct(n, total) {
    if (!total) return '';
    var p = (100 * n) / total;
    var s = p >= 10 || p === 0 ? String(Math.round(p)) : p.toFixed(1);
    if (state.lang === 'id') s = s.replace('.', ',');
    return s + '%';
  }

  function isoDate(d) {
    var m = d.getMonth() + 1;
    var day = d.getDate();
    return d.getFullYear() + '-' + (m < 10 ? '0' : '') + m + '-' + (day < 10 ? '0' : '') + day;
  }

  function parseIso(s) {
    var p = s.split('-');
    return new Date(Number(p[0]), Number(p[1]) - 1, Number(p[2]));
  }

  function longDate(s) {
    var d = parseIso(s);
    return d.getDate() + ' ' + t('months')[d.getMonth()] + ' ' + d.getFullYear();
  }

  // ---- DOM helpers (text only: labels from the API never become markup) ----

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }

  function svg(tag, attrs, children) {
    var e = document.createElementNS(SVG_NS, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }

  function setAttrs(e, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
      if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
  }

  function append(e, children) {
    if (children === null || children === undefined) return;
    (Array.isArray(children) ? children : [children]).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
  }

  function truncate(s, max) {
    return s.length <= max ? s : s.slice(0, Math.max(1, max - 1)) + '\u2026';
  }

  // ---- Token --------------------------------------------------------------

  function decodeClaims(token) {
    try {
      var part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      while (part.length % 4) part += '=';
      var bytes = Uint8Array.from(atob(part), function (c) { return c.charCodeAt(0); });
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      return null;
    }
  }

  function setToken(token) {
    state.token = token;
    state.claims = token ? decodeClaims(token) : null;
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      /* storage disabled: the token lives in memory for this page only */
    }
  }

  function tokenFromFragment() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!m) return null;
    // Drop the token from the address bar and the history entry.
    history.replaceState(null, '', location.pathname + location.search);
    return decodeURIComponent(m[1]);
  }

  // ---- API ----------------------------------------------------------------

  function ApiFailure(status, problem, retryAfter, requestId) {
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter;
    this.requestId = requestId;
  }

  function failureMessage(f) {
    if (!(f instanceof ApiFailure)) return String(f && f.message ? f.message : f);
    var p = f.problem;
    if (f.status === 0) return t('errNetwork');
    if (p.error === 'invalid_client') return t('errBadClient');
    if (f.status === 401) return p.code === 'token_expired' ? t('errExpired') : t('errInvalidToken');
    if (f.status === 403) return t('errForbidden');
    if (f.status === 429) return t('errRateLimited', { s: f.retryAfter || '60' });
    if (f.status >= 500) return t('errServer', { status: f.status, id: f.requestId || '-' });
    return t('errRequest', { detail: p.detail || p.title || p.error_description || f.status });
  }

  // Findings name workers: reading them declares the purpose (supervision).
  var PERSONAL = { findings: 'supervision' };

  function api(path, params) {
    var query = new URLSearchParams();
    Object.keys(params || {}).forEach(function (k) {
      if (params[k] !== null && params[k] !== undefined && params[k] !== '') query.set(k, params[k]);
    });
    var q = query.toString();
    // Relative URL: works behind a reverse proxy that adds a path prefix.
    var headers = { Authorization: 'Bearer ' + state.token, Accept: 'application/json' };
    if (PERSONAL[path]) headers['X-Purpose'] = PERSONAL[path];
    return fetch('api/v1/' + path + (q ? '?' + q : ''), {
      headers: headers,
      credentials: 'omit',
      cache: 'no-store'
    }).then(
      function (res) {
        if (res.ok) return res.json();
        return res.json().then(
          function (p) { throw new ApiFailure(res.status, p, res.headers.get('retry-after'), res.headers.get('x-request-id')); },
          function () { throw new ApiFailure(res.status, {}, res.headers.get('retry-after'), res.headers.get('x-request-id')); }
        );
      },
      function () { throw new ApiFailure(0); }
    );
  }

  function requestToken(clientId, secret) {
    var body = new URLSearchParams();
    body.set('grant_type', 'client_credentials');
    body.set('client_id', clientId);
    body.set('client_secret', secret);
    return fetch('api/v1/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: body.toString(),
      // No credentials: a 401 must not open the browser's own sign-in prompt.
      credentials: 'omit',
      cache: 'no-store'
    }).then(
      function (res) {
        return res.json().then(
          function (j) {
            if (res.ok && j.access_token) return j.access_token;
            throw new ApiFailure(res.status, j, res.headers.get('retry-after'), res.headers.get('x-request-id'));
          },
          function () { throw new ApiFailure(res.status); }
        );
      },
      function () { throw new ApiFailure(0); }
    );
  }

  // ---- Views --------------------------------------------------------------

  /* `message` is a function giving the text in the current language, or null. */
  function showSignin(message) {
    state.signinMessage = message;
    document.body.setAttribute('data-state', 'signin');
    $('board').hidden = true;
    $('signin').hidden = false;
    renderSigninMessage();
    $('client-id').focus();
  }

  function renderSigninMessage() {
    var m = $('signin-message');
    var text = state.signinMessage ? state.signinMessage() : '';
    m.hidden = !text;
    m.className = 'alert alert-error';
    m.textContent = text;
  }

  function showBoard() {
    $('signin').hidden = true;
    $('board').hidden = false;
    renderSession();
  }

  function setStatus(message, kind) {
    var s = $('status');
    s.hidden = !message;
    s.className = 'alert' + (kind ? ' alert-' + kind : '');
    s.textContent = message || '';
  }

  function renderSession() {
    var c = state.claims;
    var info = $('session-info');
    clear(info);
    if (!c) return;
    var parts = [t('signedInAs', { agency: c.agency || c.sub || '?', kind: lookup('kinds', c.agency_kind, c.agency_kind || '?') })];
    if (c.exp) {
      var d = new Date(c.exp * 1000);
      var hh = d.getHours();
      var mm = d.getMinutes();
      parts.push(t('validUntil', { time: (hh < 10 ? '0' : '') + hh + ':' + (mm < 10 ? '0' : '') + mm }));
    }
    info.textContent = parts.join(' · ');
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.title = 'Sinergi — ' + t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (e) {
      e.textContent = t(e.getAttribute('data-i18n'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-lang]'), function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-lang') === state.lang));
    });
    renderRegions();
    renderSession();
  }

  function districtLabel(code, fallback) {
    return state.districts[code] || fallback || code;
  }

  function learnDistricts(rows) {
    (rows || []).forEach(function (r) {
      if (/^64\.02\.\d\d$/.test(r.key) && r.label && r.label !== r.key) state.districts[r.key] = r.label;
    });
  }

  function renderRegions() {
    var select = $('region');
    clear(select);
    select.appendChild(el('option', { value: KUKAR, text: t('allKukar') + ' (' + KUKAR + ')' }));
    var codes = Object.keys(state.districts).sort(function (a, b) {
      return state.districts[a].localeCompare(state.districts[b]);
    });
    if (state.region !== KUKAR && codes.indexOf(state.region) < 0) codes.push(state.region);
    codes.forEach(function (code) {
      select.appendChild(el('option', { value: code, text: t('districtPrefix') + districtLabel(code) + ' (' + code + ')' }));
    });
    select.value = state.region;
  }

  function syncUrl() {
    var q = new URLSearchParams(location.search);
    q.set('lang', state.lang);
    if (state.region !== KUKAR) q.set('region', state.region);
    else q.delete('region');
    if (state.asOf !== isoDate(new Date())) q.set('as_of', state.asOf);
    else q.delete('as_of');
    history.replaceState(null, '', location.pathname + '?' + q.toString());
  }

  // ---- Charts (inline SVG) --------------------------------------------------

  function boxWidth(box) {
    return Math.max(300, Math.floor(box.clientWidth || 600));
  }

  /* Horizontal bars with the value written next to each bar. rows: {key,
   * label, value (null when suppressed), suppressed}. Suppressed rows get no
   * bar, only "< 3". Returns the SVG. */
  function barChart(id, box, rows, opts) {
    opts = opts || {};
    var W = boxWidth(box);
    var longest = rows.reduce(function (m, r) { return Math.max(m, r.label.length); }, 0);
    var charW = 7.2;
    var labelsAbove = longest * charW + 12 > W * 0.58 || W < 280;
    var labelW = labelsAbove ? 0 : Math.round(longest * charW) + 12;
    var valueW = opts.total ? 92 : 48;
    var rowH = labelsAbove ? 42 : 28;
    var barH = labelsAbove ? 14 : 16;
    var barX = labelW;
    var barMax = Math.max(40, W - barX - valueW);
    var max = rows.reduce(function (m, r) { return Math.max(m, r.value || 0); }, 0) || 1;
    var H = rows.length * rowH + 6;
    var chart = svg('svg', {
      id: id,
      'class': 'chart chart-bar' + (opts.tone ? ' tone-' + opts.tone : ''),
      width: W,
      height: H,
      viewBox: '0 0 ' + W + ' ' + H,
      role: 'img',
      'aria-label': opts.title || '',
      'data-bars': rows.filter(function (r) { return !r.suppressed; }).length
    });
    rows.forEach(function (r, i) {
      var y = i * rowH + 4;
      var barY = labelsAbove ? y + 20 : y + (rowH - barH) / 2 - 2;
      var textY = barY + barH / 2 + 4.5;
      var g = svg('g', { 'class': 'bar-row', 'data-key': r.key });
      g.appendChild(svg('title', { text: r.label + ': ' + (r.suppressed ? '< 3' : fmt(r.value)) }));
      var maxChars = Math.floor((labelsAbove ? W - valueW : labelW - 10) / charW);
      g.appendChild(svg('text', {
        'class': 'bar-label', x: labelsAbove ? 0 : labelW - 10, y: labelsAbove ? y + 13 : textY,
        'text-anchor': labelsAbove ? 'start' : 'end', text: truncate(r.label, maxChars)
      }));
      var valueX = barX;
      if (r.suppressed) {
        g.appendChild(svg('text', { 'class': 'bar-value suppressed', x: barX + 2, y: textY, text: '< 3' }));
      } else {
        var w = r.value > 0 ? Math.max(2, Math.round((barMax * r.value) / max)) : 0;
        g.appendChild(svg('rect', { 'class': 'bar', x: barX, y: barY, width: w, height: barH, rx: 2 }));
        valueX = barX + w + 6;
        var label = fmt(r.value) + (opts.total ? ' (' + pct(r.value, opts.total) + ')' : '');
        g.appendChild(svg('text', { 'class': 'bar-value', x: valueX, y: textY, text: label, 'data-value': r.value }));
      }
      chart.appendChild(g);
    });
    return chart;
  }

  function niceStep(max, ticks) {
    var raw = max / ticks;
    var mag = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
    var n = raw / mag;
    return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
  }

  /* The trend: points {date, value}, a line with each value labelled. */
  function lineChart(id, box, points, title) {
    var W = boxWidth(box);
    var H = 260;
    var L = 48, R = 24, T = 26, B = 40, inset = 16;
    var max = points.reduce(function (m, p) { return Math.max(m, p.value); }, 0);
    var step = niceStep(Math.max(max, 4), 4);
    var top = Math.ceil(Math.max(max, 1) / step) * step;
    if (top === max) top += step;
    var x = function (i) {
      return L + inset + (points.length < 2 ? 0 : (i * (W - L - R - 2 * inset)) / (points.length - 1));
    };
    var y = function (v) { return T + (H - T - B) * (1 - v / top); };
    var chart = svg('svg', {
      id: id, 'class': 'chart chart-line', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H,
      role: 'img', 'aria-label': title, 'data-points': points.length
    });
    for (var v = 0; v <= top; v += step) {
      chart.appendChild(svg('line', { 'class': 'grid-line', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      chart.appendChild(svg('text', { 'class': 'axis-label', x: L - 8, y: y(v) + 4, 'text-anchor': 'end', text: fmt(v) }));
    }
    var d = points.map(function (p, i) { return (i ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(p.value).toFixed(1); }).join(' ');
    if (points.length) {
      var area = d + ' L' + x(points.length - 1).toFixed(1) + ' ' + y(0) + ' L' + x(0).toFixed(1) + ' ' + y(0) + ' Z';
      chart.appendChild(svg('path', { 'class': 'trend-area', d: area }));
      chart.appendChild(svg('path', { 'class': 'trend-line', d: d }));
    }
    var every = (W - L - R) / Math.max(1, points.length - 1) < 52 ? 2 : 1;
    points.forEach(function (p, i) {
      var last = i === points.length - 1;
      var g = svg('g', { 'class': 'trend-point-group', 'data-date': p.date });
      g.appendChild(svg('title', { text: longDate(p.date) + ': ' + fmt(p.value) }));
      g.appendChild(svg('circle', { 'class': 'trend-point' + (last ? ' current' : ''), cx: x(i), cy: y(p.value), r: last ? 5 : 3.5 }));
      g.appendChild(svg('text', { 'class': 'point-value', x: x(i), y: y(p.value) - 10, 'text-anchor': 'middle', text: fmt(p.value), 'data-value': p.value }));
      if (last || (points.length - 1 - i) % every === 0) {
        var dt = parseIso(p.date);
        var label = last && dt.getDate() !== 1
          ? dt.getDate() + ' ' + t('months')[dt.getMonth()]
          : t('months')[dt.getMonth()] + ' ' + String(dt.getFullYear()).slice(2);
        g.appendChild(svg('text', { 'class': 'axis-label' + (last ? ' current' : ''), x: x(i), y: H - B + 20, 'text-anchor': 'middle', text: label }));
      }
      chart.appendChild(g);
    });
    return chart;
  }

  /* The same numbers as a table, behind a toggle (screen readers, copying into reports). */
  function numbersTable(rows, total, firstHeader) {
    var body = rows.map(function (r) {
      return el('tr', null, [
        el('th', { scope: 'row', text: r.label }),
        el('td', { 'class': 'num', text: r.suppressed ? '< 3' : fmt(r.value) }),
        total ? el('td', { 'class': 'num', text: r.suppressed ? '' : pct(r.value, total) }) : null
      ]);
    });
    if (total) {
      body.push(el('tr', { 'class': 'total-row' }, [
        el('th', { scope: 'row', text: t('total') }),
        el('td', { 'class': 'num', text: fmt(total) }),
        el('td', { 'class': 'num', text: '100%' })
      ]));
    }
    return el('details', { 'class': 'numbers' }, [
      el('summary', { text: t('showNumbers') }),
      el('table', { 'class': 'data' }, [
        el('thead', null, el('tr', null, [
          el('th', { scope: 'col', text: firstHeader || t('group') }),
          el('th', { scope: 'col', 'class': 'num', text: t('count') }),
          total ? el('th', { scope: 'col', 'class': 'num', text: t('share') }) : null
        ])),
        el('tbody', null, body)
      ])
    ]);
  }

  function placeholder(box, text, cls) {
    clear(box);
    box.appendChild(el('p', { 'class': cls || 'muted', text: text }));
  }

  function renderBars(name, rows, opts) {
    var box = $('box-' + name);
    if (state.errors[name]) return placeholder(box, t('errCard', { msg: state.errors[name] }), 'alert alert-error');
    if (!rows) return placeholder(box, t('loading'));
    clear(box);
    if (!rows.length) return placeholder(box, t('noData'));
    box.appendChild(barChart('chart-' + name, box, rows, opts));
    box.appendChild(numbersTable(rows, opts.total, opts.header));
  }

  // ---- Rendering each part ------------------------------------------------------

  function groupRows(groups, labelOf) {
    return groups.map(function (g) {
      return { key: g.key, label: labelOf(g), value: g.suppressed ? null : g.count, suppressed: !!g.suppressed };
    });
  }

  function workersChart(name, titleKey, labelOf) {
    var d = state.data[name];
    renderBars(name, d ? groupRows(d.groups, labelOf) : null, { total: d && d.total, title: t(titleKey) });
  }

  function sectorLabel(g) {
    return g.key === 'unknown' ? t('unknown') : lookup('sectors', g.key, g.label);
  }

  function countryLabel(g) {
    return g.key === 'unknown' ? t('unknown') : lookup('countries', g.key, g.label);
  }

  function districtOf(g) {
    return g.key === 'unknown' ? t('unknown') : districtLabel(g.key, g.label);
  }

  function levelLabel(g) {
    return lookup('levels', g.key, g.label);
  }

  function ruleLabel(key, fallback) {
    return lookup('rules', key, fallback);
  }

  function renderKpis() {
    var sector = state.data.sector;
    var fs = state.data.findingStats;
    var presence = state.data.presence;
    setKpi('kpi-workers', sector && sector.total);
    var doubles = sector && sector.possible_duplicates;
    $('kpi-workers-note').textContent = !sector ? '' : doubles
      ? t('kpiWorkersDoubles', { date: longDate(sector.as_of), n: fmt(doubles) })
      : t('kpiWorkersNote', { date: longDate(sector.as_of) });
    setKpi('kpi-findings', fs && fs.total);
    $('kpi-findings-note').textContent = fs ? t('kpiFindingsNote', { n: fs.by_rule.length }) : '';
    var high = fs ? fs.by_severity.filter(function (s) { return s.key === 'high'; }) : null;
    setKpi('kpi-high', high ? (high.length ? high[0].count : 0) : null);
    var over = presence ? presence.employers.filter(function (e) { return !e.suppressed && e.gap > 0; }).length : null;
    setKpi('kpi-over', over);
    $('kpi-over-note').textContent = presence ? t('kpiOverNote', { n: presence.employers.length }) : '';
  }

  function setKpi(id, value) {
    var e = $(id);
    if (value === null || value === undefined) {
      e.textContent = '–';
      e.removeAttribute('data-value');
    } else {
      e.textContent = fmt(value);
      e.setAttribute('data-value', value);
    }
  }

  function renderTrend() {
    var box = $('box-trend');
    if (state.errors.trend) return placeholder(box, t('errCard', { msg: state.errors.trend }), 'alert alert-error');
    var points = state.data.trend;
    if (!points) return placeholder(box, t('loading'));
    clear(box);
    box.appendChild(lineChart('chart-trend', box, points, t('trendTitle')));
    box.appendChild(numbersTable(points.map(function (p) {
      return { key: p.date, label: longDate(p.date), value: p.value, suppressed: false };
    }), null, t('date')));
  }

  function cellNum(v, suppressed) {
    if (v === null || v === undefined) {
      return el('td', { 'class': 'num suppressed', title: t('suppressed'), text: suppressed ? '< 3' : '–' });
    }
    return el('td', { 'class': 'num', text: fmt(v) });
  }

  function renderGap() {
    var box = $('box-gap');
    if (state.errors.presence) return placeholder(box, t('errCard', { msg: state.errors.presence }), 'alert alert-error');
    var p = state.data.presence;
    if (!p) return placeholder(box, t('loading'));
    clear(box);
    if (!p.employers.length) return placeholder(box, t('noData'));
    var rows = p.employers.map(function (e) {
      var gapCell;
      if (e.gap === null || e.gap === undefined) {
        gapCell = el('td', { 'class': 'num muted', text: '–' });
      } else {
        var cls = e.gap > 0 ? 'gap-over' : e.gap < 0 ? 'gap-under' : 'gap-even';
        gapCell = el('td', { 'class': 'num' }, el('span', { 'class': 'gap ' + cls, text: (e.gap > 0 ? '+' : '') + fmt(e.gap) }));
      }
      return el('tr', { 'class': e.gap > 0 ? 'row-over' : null, 'data-key': e.key }, [
        el('th', { scope: 'row', text: e.label }),
        cellNum(e.permitted, e.suppressed),
        cellNum(e.seen, e.suppressed),
        gapCell
      ]);
    });
    box.appendChild(el('table', { 'class': 'data', id: 'table-gap' }, [
      el('thead', null, el('tr', null, [
        el('th', { scope: 'col', text: t('employer') }),
        el('th', { scope: 'col', 'class': 'num', text: t('permitted') }),
        el('th', { scope: 'col', 'class': 'num', text: t('seen') }),
        el('th', { scope: 'col', 'class': 'num', text: t('gap') })
      ])),
      el('tbody', null, rows)
    ]));
  }

  function renderFindingsTable() {
    var box = $('box-findings');
    if (state.errors.findings) return placeholder(box, t('errCard', { msg: state.errors.findings }), 'alert alert-error');
    var f = state.data.findings;
    if (!f) return placeholder(box, t('loading'));
    clear(box);
    if (!f.items.length) return placeholder(box, t('noFindings'));
    var items = f.items.slice().sort(function (a, b) {
      return (SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]) || a.rule.localeCompare(b.rule) ||
        String(a.region_code).localeCompare(String(b.region_code));
    });
    var total = state.data.findingStats ? state.data.findingStats.total : items.length;
    box.appendChild(el('p', { 'class': 'muted small', text: t('findingsShown', { shown: fmt(items.length), total: fmt(Math.max(total, items.length)) }) }));
    var rows = items.map(function (x) {
      return el('tr', { 'data-rule': x.rule }, [
        el('td', { 'class': 'rule', text: state.lang === 'en' ? x.rule_title_en : x.rule_title_id }),
        el('td', null, el('span', { 'class': 'badge sev-' + x.severity, text: lookup('severities', x.severity, x.severity) })),
        el('td', { text: x.region_code ? districtLabel(x.region_code, x.region_code) : '–' }),
        el('td', { text: lookup('kinds', x.responsible, x.responsible) }),
        el('td', { text: lookup('statuses', x.status, x.status) }),
        el('td', { 'class': 'message', text: state.lang === 'en' ? x.message_en : x.message_id })
      ]);
    });
    box.appendChild(el('table', { 'class': 'data findings', id: 'table-findings' }, [
      el('thead', null, el('tr', null, [t('rule'), t('severity'), t('district'), t('responsible'), t('status'), t('message')].map(function (h) {
        return el('th', { scope: 'col', text: h });
      }))),
      el('tbody', null, rows)
    ]));
  }

  function renderAll() {
    renderKpis();
    renderTrend();
    workersChart('sector', 'bySector', sectorLabel);
    workersChart('nationality', 'byNationality', countryLabel);
    workersChart('district', 'byDistrict', districtOf);
    workersChart('level', 'byLevel', levelLabel);
    var fs = state.data.findingStats;
    renderBars('findings-rule', fs ? groupRows(fs.by_rule, function (g) { return ruleLabel(g.key, g.label); }) : null,
      { tone: 'warn', title: t('findingsByRule'), header: t('rule') });
    renderBars('findings-district', fs ? groupRows(fs.by_district, districtOf) : null,
      { tone: 'warn', title: t('findingsByDistrict'), header: t('district') });
    renderGap();
    renderFindingsTable();
  }

  // ---- Loading ------------------------------------------------------------

  function trendDates(asOf) {
    var d = parseIso(asOf);
    var dates = [];
    for (var i = 11; i >= 0; i--) dates.push(isoDate(new Date(d.getFullYear(), d.getMonth() - i, 1)));
    if (dates[dates.length - 1] !== asOf) dates.push(asOf);
    return dates;
  }

  /* Runs the tasks with at most `limit` in flight (the API has a per-client budget). */
  function pool(tasks, limit) {
    var results = new Array(tasks.length);
    var next = 0;
    function worker() {
      if (next >= tasks.length) return Promise.resolve();
      var i = next++;
      return tasks[i]().then(function (r) { results[i] = r; return worker(); });
    }
    var workers = [];
    for (var k = 0; k < Math.min(limit, tasks.length); k++) workers.push(worker());
    return Promise.all(workers).then(function () { return results; });
  }

  function load() {
    var seq = ++state.load;
    var region = state.region;
    var asOf = state.asOf;
    state.data = {};
    state.errors = {};
    document.body.setAttribute('data-state', 'loading');
    document.body.setAttribute('data-as-of', asOf);
    document.body.setAttribute('data-region', region);
    setStatus('');
    renderAll();
    var authFailure = null;

    function part(name, promise, after) {
      return promise.then(function (d) {
        if (seq !== state.load) return;
        state.data[name] = d;
        if (after) after(d);
        renderAll();
      }, function (f) {
        if (seq !== state.load) return;
        if (f instanceof ApiFailure && f.status === 401) authFailure = authFailure || f;
        state.errors[name] = failureMessage(f);
        renderAll();
      });
    }

    var stats = function (group) {
      return api('stats/workers', { group_by: group, as_of: asOf, region: region });
    };
    var districtList = region === KUKAR || Object.keys(state.districts).length
      ? Promise.resolve()
      : api('stats/workers', { group_by: 'region', as_of: asOf, region: KUKAR }).then(function (d) {
        learnDistricts(d.groups);
        renderRegions();
      }, function () { /* the selector keeps what it has */ });
    var learn = function (key) {
      return function (d) { learnDistricts(d[key]); renderRegions(); };
    };
    var main = [
      part('sector', stats('sector')),
      part('nationality', stats('nationality')),
      part('district', stats('region'), learn('groups')),
      part('level', stats('level')),
      part('presence', api('stats/presence', { as_of: asOf, region: region }), learn('districts')),
      part('findingStats', api('stats/findings', { status: 'open', region: region }), learn('by_district')),
      part('findings', api('findings', { status: 'open', region: region, limit: 200 })),
      districtList
    ];
    Promise.all(main).then(function () {
      if (seq !== state.load) return null;
      if (authFailure) return null;
      var dates = trendDates(asOf);
      return part('trend', pool(dates.map(function (date) {
        return function () {
          return api('stats/workers', { group_by: 'sector', as_of: date, region: region }).then(function (d) {
            return { date: date, value: d.total };
          });
        };
      }), 3));
    }).then(function () {
      if (seq !== state.load) return;
      if (authFailure) {
        signOut(function () { return failureMessage(authFailure); });
        return;
      }
      var failed = Object.keys(state.errors);
      if (failed.length) setStatus(state.errors[failed[0]], 'error');
      document.body.setAttribute('data-state', failed.length ? 'error' : 'ready');
    });
  }

  function signOut(message) {
    state.load++;
    clearTimeout(state.expiryTimer);
    setToken(null);
    state.data = {};
    showSignin(message);
  }

  function start() {
    if (!state.claims) {
      // Not a JWT we can read: still try it, the API decides.
      showBoard();
      load();
      return;
    }
    if (expired()) {
      signOut(function () { return t('errExpired'); });
      return;
    }
    var scopes = String(state.claims.scope || '').split(/\s+/);
    if (scopes.indexOf('records:read') < 0) {
      signOut(function () { return t('errNoScope'); });
      return;
    }
    showBoard();
    load();
    watchExpiry();
  }

  function expired() {
    return !!(state.claims && state.claims.exp && state.claims.exp * 1000 <= Date.now());
  }

  /* When the token runs out, the figures stay on screen with a notice; the next load asks to sign in. */
  function watchExpiry() {
    clearTimeout(state.expiryTimer);
    if (!state.claims || !state.claims.exp) return;
    var token = state.token;
    var wait = Math.min(state.claims.exp * 1000 - Date.now(), 0x7fffffff);
    state.expiryTimer = setTimeout(function () {
      if (state.token === token && !$('board').hidden) setStatus(t('errExpired'), 'error');
    }, Math.max(0, wait));
  }

  // ---- Wiring -------------------------------------------------------------

  function init() {
    var q = new URLSearchParams(location.search);
    var lang = q.get('lang');
    try {
      lang = lang || sessionStorage.getItem(LANG_KEY);
    } catch (e) { /* no storage */ }
    state.lang = lang === 'en' ? 'en' : 'id';
    var region = q.get('region');
    state.region = region && /^64\.02(\.\d\d)?$/.test(region) ? region : KUKAR;
    var asOf = q.get('as_of');
    state.asOf = asOf && /^\d{4}-\d\d-\d\d$/.test(asOf) ? asOf : isoDate(new Date());
    $('as-of').value = state.asOf;

    var fromFragment = tokenFromFragment();
    var stored = null;
    try {
      stored = sessionStorage.getItem(TOKEN_KEY);
    } catch (e) { /* no storage */ }
    if (fromFragment || stored) setToken(fromFragment || stored);
    applyLanguage();
    syncUrl();

    Array.prototype.forEach.call(document.querySelectorAll('[data-lang]'), function (b) {
      b.addEventListener('click', function () {
        state.lang = b.getAttribute('data-lang');
        try {
          sessionStorage.setItem(LANG_KEY, state.lang);
        } catch (e) { /* no storage */ }
        applyLanguage();
        syncUrl();
        if (!$('board').hidden) renderAll();
        renderSigninMessage();
      });
    });
    $('region').addEventListener('change', function (e) {
      if (expired()) return signOut(function () { return t('errExpired'); });
      state.region = e.target.value;
      syncUrl();
      load();
    });
    $('as-of').addEventListener('change', function (e) {
      if (!/^\d{4}-\d\d-\d\d$/.test(e.target.value)) return;
      if (expired()) return signOut(function () { return t('errExpired'); });
      state.asOf = e.target.value;
      syncUrl();
      load();
    });
    $('refresh').addEventListener('click', function () {
      if (expired()) {
        signOut(function () { return t('errExpired'); });
        return;
      }
      load();
    });
    $('sign-out').addEventListener('click', function () { signOut(null); });
    $('signin-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var button = e.target.querySelector('button');
      var secret = $('client-secret');
      button.disabled = true;
      button.textContent = t('signingIn');
      requestToken($('client-id').value.trim(), secret.value).then(function (token) {
        secret.value = '';
        setToken(token);
        start();
      }, function (f) {
        showSignin(function () { return failureMessage(f); });
      }).then(function () {
        button.disabled = false;
        button.textContent = t('signIn');
      });
    });
    $('token-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var input = $('token-input');
      var token = input.value.trim().replace(/^Bearer\s+/i, '');
      input.value = '';
      if (!token) return;
      setToken(token);
      start();
    });
    var resizeTimer = null;
    var lastWidth = window.innerWidth;
    window.addEventListener('resize', function () {
      if (window.innerWidth === lastWidth) return;
      lastWidth = window.innerWidth;
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { if (!$('board').hidden) renderAll(); }, 150);
    });

    if (state.token) start();
    else showSignin(null);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
