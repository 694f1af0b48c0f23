// A multi-agency day, written only against the types openapi-typescript
// generates from openapi/openapi.json and the openapi-fetch client; tsc
// checks every path, parameter and body against the document before it runs.
// Run by tests/contract/run.sh with the demo server's URL and credentials.

import createClient from "openapi-fetch";
import type { components, paths } from "../build/ts/schema.js";

type Schemas = components["schemas"];

const base = process.env.SINERGI_URL ?? "";
const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

function check(ok: unknown, what: string): asserts ok {
  if (!ok) throw new Error(`FAILED: ${what}`);
}

const step = (text: string) => console.log(`  - ${text}`);
const digits = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join("");
const day = (offset: number) =>
  new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

async function agency(idVar: string, secretVar: string) {
  const anonymous = createClient<paths>({ baseUrl: base });
  const { data, error } = await anonymous.POST("/api/v1/oauth/token", {
    body: {
      grant_type: "client_credentials",
      client_id: env(idVar),
      client_secret: env(secretVar),
    },
    bodySerializer: (body) =>
      new URLSearchParams(
        Object.entries(body).filter((e): e is [string, string] => typeof e[1] === "string"),
      ).toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  check(data, `token for ${env(idVar)}: ${JSON.stringify(error)}`);
  return createClient<paths>({
    baseUrl: base,
    headers: { Authorization: `Bearer ${data.access_token}` },
  });
}

async function followFeed(
  client: ReturnType<typeof createClient<paths>>,
  after: string | undefined,
): Promise<{ cursor: string; seen: Set<string> }> {
  const seen = new Set<string>();
  let cursor = after;
  for (;;) {
    const { data, error } = await client.GET("/api/v1/changes", {
      params: {
        query: { limit: 1000, ...(cursor ? { after: cursor } : {}) },
        header: { "X-Purpose": "supervision" },
      },
    });
    check(data, `change feed: ${JSON.stringify(error)}`);
    data.changes.forEach((c) => seen.add(`${c.type}:${c.key}`));
    cursor = data.next_cursor;
    if (!data.has_more) return { cursor, seen };
  }
}

async function main() {
  const immigration = await agency("IMMIGRATION_ID", "IMMIGRATION_SECRET");
  const manpower = await agency("MANPOWER_ID", "MANPOWER_SECRET");
  const district = await agency("DISTRICT_ID", "DISTRICT_SECRET");
  step("three agencies hold tokens");
  const start = await followFeed(manpower, undefined);

  const nib = `92${digits(11)}`;
  const passport = `C${digits(8)}`;
  const permitNo = `2C21JF${digits(7)}`;
  const approvalNo = `KEP.${digits(5)}/PPTKA/PTA/2026`;
  const person: Schemas["PersonInput"] = {
    passport_no: passport,
    nationality: "VNM",
    full_name: "NGUYEN VAN AN",
    sex: "M",
    birth_date: "1990-07-21",
  };

  const permit = await immigration.PUT("/api/v1/residence-permits/{permit_no}", {
    params: { path: { permit_no: permitNo } },
    body: {
      worker: person,
      kind: "ITAS",
      visa_index: "E23",
      sponsor_nib: nib,
      issued_on: day(-30),
      valid_from: day(-30),
      valid_until: day(335),
      address_region_code: "64.02.06",
      status: "active",
    },
  });
  check(permit.data, `permit: ${JSON.stringify(permit.error)}`);
  const workerId = permit.data.worker_id;
  check(workerId, "the permit names its worker");
  step(`immigration pushed permit ${permitNo} (worker ${workerId})`);

  const findings = async (status: Schemas["FindingStatus"]) => {
    const { data, error } = await district.GET("/api/v1/findings", {
      params: {
        query: { worker_id: workerId, rule: "PERMIT_WITHOUT_ASSIGNMENT", status },
        header: { "X-Purpose": "supervision" },
      },
    });
    check(data, `findings: ${JSON.stringify(error)}`);
    return data.items.map((f) => f.id);
  };
  const opened = await findings("open");
  check(opened.length === 1, "a sponsored permit without assignment opens a finding");
  step(`finding ${opened[0]} PERMIT_WITHOUT_ASSIGNMENT is open`);

  const employer = await manpower.PUT("/api/v1/employers/{nib}", {
    params: { path: { nib } },
    body: { name: "PT Delta Sawit Lestari", capital: "PMA", kbli: ["01262"], region_code: "64.02.06" },
  });
  check(employer.data, `employer: ${JSON.stringify(employer.error)}`);
  const approval = await manpower.PUT("/api/v1/rptka-approvals/{approval_no}", {
    params: { path: { approval_no: approvalNo } },
    body: {
      employer_nib: nib,
      type: "new",
      issued_on: day(-60),
      valid_from: day(-60),
      valid_until: day(300),
      location_scope: ["64.02"],
      positions: [{ code: "P01", title: "Plantation Manager", level: "manager", headcount: 1 }],
      status: "active",
    },
  });
  check(approval.data, `approval: ${JSON.stringify(approval.error)}`);
  const assignment = await manpower.POST("/api/v1/assignments", {
    body: {
      source_ref: `TKA-${digits(8)}`,
      worker: person,
      employer_nib: nib,
      approval_no: approvalNo,
      position_code: "P01",
      start_on: day(-20),
      end_on: day(200),
      status: "active",
    },
  });
  check(assignment.data, `assignment: ${JSON.stringify(assignment.error)}`);
  step("manpower pushed the employer, the RPTKA approval and the assignment");

  const view = await district.GET("/api/v1/workers/{id}", {
    params: { path: { id: workerId }, header: { "X-Purpose": "supervision" } },
  });
  check(view.data, `joined view: ${JSON.stringify(view.error)}`);
  const numbers = view.data.passports.map((p) => p.number);
  check(
    numbers.length > 0 && numbers.every((n) => n.startsWith("***") && n.endsWith(passport.slice(-3))),
    `masked passport numbers, got ${numbers}`,
  );
  check(!JSON.stringify(view.data).includes(passport), "the district sees no unmasked number");
  check(view.data.assignments.length === 1, "the joined view holds the assignment");
  step(`the district reads the joined view with a purpose; passports show as ${numbers}`);

  const resolved = await findings("resolved");
  check(resolved.length === 1 && resolved[0] === opened[0], "the assignment resolves the finding");
  step(`finding ${opened[0]} resolved by the assignment`);

  const key = crypto.randomUUID();
  const batch: Schemas["BatchRequest"] = {
    atomic: true,
    operations: [
      { type: "employer", key: `92${digits(11)}`, body: { name: "PT Batch Tiga", capital: "PMDN", kbli: ["01131"], region_code: "64.02.06" } },
      { type: "employer", key: `92${digits(11)}`, body: { name: "PT Batch Empat", capital: "PMA", kbli: ["05100"], region_code: "64.02.06" } },
    ],
  };
  const post = () =>
    manpower.POST("/api/v1/batch", {
      body: batch,
      params: { header: { "Idempotency-Key": key } },
      parseAs: "text",
    });
  const first = await post();
  const again = await post();
  check(first.response.status === 200 && first.data, `batch: ${first.error}`);
  check(again.data === first.data, "a retried batch answers what the first answered");
  const summary = (JSON.parse(first.data) as Schemas["BatchResponse"]).summary;
  check(summary.created === 2, `two employers created, got ${JSON.stringify(summary)}`);
  step("a batch retried with its Idempotency-Key answers the same and stores nothing twice");

  const feed = await followFeed(manpower, start.cursor);
  for (const k of [`residence_permit:${permitNo}`, `employer:${nib}`, `rptka_approval:${approvalNo}`]) {
    check(feed.seen.has(k), `${k} in the change feed`);
  }
  check([...feed.seen].some((k) => k.startsWith("finding:")), "finding changes in the feed");
  step(`the change feed followed to its end: ${feed.seen.size} records`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
