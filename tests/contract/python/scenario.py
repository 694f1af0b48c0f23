"""A multi-agency day, written only against the Python client that
openapi-python-client generates from openapi/openapi.json.

Run by tests/contract/run.sh with the generated package on PYTHONPATH and
the demo server's URL and client credentials in the environment. Exits
non-zero (an AssertionError) at the first step that does not behave as the
document promises.
"""

import os
import random
import sys
import uuid
from datetime import date, timedelta

from sinergi_client import AuthenticatedClient, Client
from sinergi_client.api.assignments import upsert_assignment
from sinergi_client.api.auth import issue_token
from sinergi_client.api.employers import upsert_employer
from sinergi_client.api.findings import list_findings
from sinergi_client.api.residence_permits import upsert_residence_permit
from sinergi_client.api.rptka_approvals import upsert_rptka_approval
from sinergi_client.api.sync import list_changes, post_batch
from sinergi_client.api.workers import get_worker
from sinergi_client.models import (
    ApprovalStatus,
    ApprovalType,
    AssignmentInput,
    AssignmentRecord,
    AssignmentStatus,
    BatchOperation,
    BatchOperationBody,
    BatchRequest,
    BatchResponse,
    Capital,
    ChangePage,
    EmployerInput,
    EmployerRecord,
    FindingStatus,
    PageFindingView,
    PermitKind,
    PermitStatus,
    PersonInput,
    PositionInput,
    PositionLevel,
    Purpose,
    ResidencePermitInput,
    ResidencePermitRecord,
    RptkaApprovalInput,
    RptkaApprovalRecord,
    RuleCode,
    Sex,
    TokenRequest,
    TokenResponse,
    WorkerView,
)

BASE = os.environ["SINERGI_URL"]


def step(text: str) -> None:
    print(f"  - {text}", flush=True)


def token(client_id: str, secret: str) -> AuthenticatedClient:
    answer = issue_token.sync(
        client=Client(base_url=BASE),
        body=TokenRequest(
            grant_type="client_credentials", client_id=client_id, client_secret=secret
        ),
    )
    assert isinstance(answer, TokenResponse), f"no token for {client_id}: {answer}"
    return AuthenticatedClient(base_url=BASE, token=answer.access_token)


def digits(n: int) -> str:
    return "".join(random.choice("0123456789") for _ in range(n))


def main() -> int:
    random.seed()
    immigration = token(os.environ["IMMIGRATION_ID"], os.environ["IMMIGRATION_SECRET"])
    manpower = token(os.environ["MANPOWER_ID"], os.environ["MANPOWER_SECRET"])
    district = token(os.environ["DISTRICT_ID"], os.environ["DISTRICT_SECRET"])
    step("three agencies hold tokens")

    # Where the feed stands before this scenario, to follow it afterwards.
    start = list_changes.sync(client=manpower, limit=1000, x_purpose=Purpose.SUPERVISION)
    assert isinstance(start, ChangePage), start
    cursor = start.next_cursor
    while start.has_more:
        start = list_changes.sync(
            client=manpower, after=cursor, limit=1000, x_purpose=Purpose.SUPERVISION
        )
        assert isinstance(start, ChangePage), start
        cursor = start.next_cursor

    nib = "91" + digits(11)
    passport = "E" + digits(8)
    permit_no = "2C21JE" + digits(7)
    approval_no = f"KEP.{digits(5)}/PPTKA/PTA/2026"
    today = date.today()
    person = PersonInput(
        passport_no=passport,
        nationality="CHN",
        full_name="LIU YANG",
        sex=Sex.M,
        birth_date=date(1988, 3, 9),
    )

    permit = upsert_residence_permit.sync(
        permit_no,
        client=immigration,
        body=ResidencePermitInput(
            worker=person,
            kind=PermitKind.ITAS,
            visa_index="E23",
            sponsor_nib=nib,
            issued_on=today - timedelta(days=30),
            valid_from=today - timedelta(days=30),
            valid_until=today + timedelta(days=335),
            address_region_code="64.02.06",
            status=PermitStatus.ACTIVE,
        ),
    )
    assert isinstance(permit, ResidencePermitRecord), f"permit not stored: {permit}"
    worker_id = permit.worker_id
    step(f"immigration pushed permit {permit_no} (worker {worker_id})")

    def findings(status: FindingStatus) -> list:
        page = list_findings.sync(
            client=district,
            worker_id=uuid.UUID(str(worker_id)),
            rule=RuleCode.PERMIT_WITHOUT_ASSIGNMENT,
            status=status,
            x_purpose=Purpose.SUPERVISION,
        )
        assert isinstance(page, PageFindingView), page
        return [f.id for f in page.items]

    opened = findings(FindingStatus.OPEN)
    assert len(opened) == 1, "a sponsored permit without assignment opens a finding"
    finding_id = opened[0]
    step(f"finding {finding_id} PERMIT_WITHOUT_ASSIGNMENT is open")

    employer = upsert_employer.sync(
        nib,
        client=manpower,
        body=EmployerInput(
            name="PT Sumber Energi Mahakam",
            capital=Capital.PMA,
            kbli=["05100"],
            region_code="64.02.06",
        ),
    )
    assert isinstance(employer, EmployerRecord), f"employer not stored: {employer}"
    approval = upsert_rptka_approval.sync(
        approval_no,
        client=manpower,
        body=RptkaApprovalInput(
            employer_nib=nib,
            type_=ApprovalType.NEW,
            issued_on=today - timedelta(days=60),
            valid_from=today - timedelta(days=60),
            valid_until=today + timedelta(days=300),
            location_scope=["64.02"],
            positions=[
                PositionInput(
                    code="P01", title="Mining Engineer", level=PositionLevel.PROFESSIONAL, headcount=2
                )
            ],
            status=ApprovalStatus.ACTIVE,
        ),
    )
    assert isinstance(approval, RptkaApprovalRecord), f"approval not stored: {approval}"
    assignment = upsert_assignment.sync(
        client=manpower,
        body=AssignmentInput(
            source_ref=f"TKA-{digits(8)}",
            worker=person,
            employer_nib=nib,
            approval_no=approval_no,
            position_code="P01",
            start_on=today - timedelta(days=20),
            end_on=today + timedelta(days=200),
            status=AssignmentStatus.ACTIVE,
        ),
    )
    assert isinstance(assignment, AssignmentRecord), f"assignment not stored: {assignment}"
    step("manpower pushed the employer, the RPTKA approval and the assignment")

    view = get_worker.sync(uuid.UUID(str(worker_id)), client=district, x_purpose=Purpose.SUPERVISION)
    assert isinstance(view, WorkerView), f"no joined view: {view}"
    numbers = [p.number for p in view.passports]
    assert numbers and all(n.startswith("***") and n.endswith(passport[-3:]) for n in numbers), numbers
    assert passport not in str(view.to_dict()), "the district sees the passport number unmasked"
    assert len(view.residence_permits) == 1 and len(view.assignments) == 1
    step(f"the district reads the joined view with a purpose; passports show as {numbers}")

    assert findings(FindingStatus.RESOLVED) == [finding_id], "the assignment resolves the finding"
    step(f"finding {finding_id} resolved by the assignment")

    key = str(uuid.uuid4())
    batch = BatchRequest(
        atomic=True,
        operations=[
            BatchOperation(
                type_="employer",
                key="91" + digits(11),
                body=BatchOperationBody.from_dict(
                    {"name": "PT Batch Satu", "capital": "PMDN", "kbli": ["01131"], "region_code": "64.02.06"}
                ),
            ),
            BatchOperation(
                type_="employer",
                key="91" + digits(11),
                body=BatchOperationBody.from_dict(
                    {"name": "PT Batch Dua", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"}
                ),
            ),
        ],
    )
    first = post_batch.sync_detailed(client=manpower, body=batch, idempotency_key=key)
    assert isinstance(first.parsed, BatchResponse), first.content
    assert first.parsed.summary.created == 2, first.parsed.summary
    again = post_batch.sync_detailed(client=manpower, body=batch, idempotency_key=key)
    assert isinstance(again.parsed, BatchResponse), again.content
    assert again.content == first.content, "a retried batch answers what the first answered"
    assert again.parsed.summary.created == 2
    step("a batch retried with its Idempotency-Key answers the same and stores nothing twice")

    seen = set()
    pages = 0
    while True:
        page = list_changes.sync(
            client=manpower, after=cursor, limit=1000, x_purpose=Purpose.SUPERVISION
        )
        assert isinstance(page, ChangePage), page
        pages += 1
        for change in page.changes:
            seen.add((change.type_, change.key))
        cursor = page.next_cursor
        if not page.has_more:
            break
    for expected in [("residence_permit", permit_no), ("employer", nib), ("rptka_approval", approval_no)]:
        assert expected in seen, f"{expected} not in the change feed"
    assert any(t == "assignment" for t, _ in seen) and any(t == "finding" for t, _ in seen)
    step(f"the change feed followed to its end: {len(seen)} records in {pages} page(s)")

    late = list_changes.sync(client=manpower, after=cursor, x_purpose=Purpose.SUPERVISION)
    assert isinstance(late, ChangePage) and late.changes == [], "nothing after the end"
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        raise
