// Swagger UI as a newcomer uses it, in Debian's headless Chromium: open the
// page, Authorize with the OAuth2 client-credentials flow (the page fetches
// the token itself), then "Try it out" on the joined view of a worker, a
// personal-data read with X-Purpose, and see 200 rendered in the page.
// Run by tests/contract/run.sh with the demo server's URL and credentials.

import { chromium } from "playwright-core";

const base = process.env.SINERGI_URL;
const clientId = process.env.DISTRICT_ID;
const secret = process.env.DISTRICT_SECRET;
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

// A worker id to read, found the way an integrator would: through the API.
async function someWorker() {
  const form = new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: secret });
  const token = await fetch(`${base}/api/v1/oauth/token`, { method: "POST", body: form }).then((r) => r.json());
  const page = await fetch(`${base}/api/v1/workers?limit=1`, {
    headers: { Authorization: `Bearer ${token.access_token}`, "X-Purpose": "supervision" },
  }).then((r) => r.json());
  if (!page.items?.length) throw new Error("FAILED: the demo data has no worker");
  return page.items[0].id;
}

const workerId = await someWorker();
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const timer = setTimeout(() => {
  console.error("FAILED: Swagger UI did not finish within 90 s");
  process.exit(1);
}, 90_000);
try {
  const page = await browser.newPage();
  const tokenRequests = [];
  page.on("request", (r) => r.url().endsWith("/api/v1/oauth/token") && tokenRequests.push(r.method()));
  await page.goto(`${base}/swagger-ui/`);
  await page.locator(".swagger-ui .information-container .title").waitFor();

  // Authorize: the OAuth2 client-credentials section of the dialog.
  await page.locator("button.authorize").first().click();
  const dialog = page.locator(".dialog-ux .modal-ux");
  const oauth = dialog.locator(".auth-container").filter({ hasText: "clientCredentials" });
  await oauth.locator("input#client_id_clientCredentials").fill(clientId);
  await oauth.locator("input#client_secret_clientCredentials").fill(secret);
  await oauth.locator("button.authorize").click();
  await oauth.locator("button", { hasText: "Logout" }).waitFor({ timeout: 15_000 });
  if (!tokenRequests.includes("POST")) throw new Error("FAILED: the page did not request a token");
  await dialog.locator("button.close-modal").click();
  console.log("  - authorized from the page by client credentials");

  // Try it out: GET /api/v1/workers/{id} with its purpose.
  const op = page.locator("#operations-workers-get_worker");
  await op.locator(".opblock-summary").click();
  await op.locator("button.try-out__btn").click();
  await op.locator('tr[data-param-name="id"] input').fill(workerId);
  await op.locator('tr[data-param-name="X-Purpose"] select').selectOption("supervision");
  await op.locator("button.execute").click();
  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 15_000 });
  const code = (await status.innerText()).trim();
  const body = await op.locator(".live-responses-table .response-col_description pre").first().innerText();
  if (code !== "200") throw new Error(`FAILED: Try it out answered ${code}: ${body.slice(0, 300)}`);
  if (!body.includes(workerId)) throw new Error("FAILED: the rendered body does not show the worker");
  console.log(`  - Try it out on GET /api/v1/workers/{id}: ${code}, the joined view rendered`);
} finally {
  clearTimeout(timer);
  await browser.close();
}
