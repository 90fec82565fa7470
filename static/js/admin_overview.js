// The admin index's health table (templates/admin/index.html): each part's state from /healthz.
const table = document.querySelector("[data-health]");

async function showHealth() {
  let checks = {};
  try {
    // 503 still carries the checks: it names the failing parts.
    const response = await fetch(table.dataset.healthUrl, { headers: { Accept: "application/json" } });
    checks = (await response.json()).checks || {};
  } catch {
    // No answer at all: every row says failing below.
  }
  table.querySelectorAll("[data-health-check]").forEach((row) => {
    const state = checks[row.dataset.healthCheck] || "error: unreachable";
    const ok = state === "ok";
    const cell = row.querySelector("td");
    cell.textContent = ok ? table.dataset.okText : `${table.dataset.errorText} (${state.replace(/^error: /, "")})`;
    cell.className = ok ? "overview__ok" : "overview__error";
    row.dataset.state = ok ? "ok" : "error";
  });
}

if (table) showHealth();
