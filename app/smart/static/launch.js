// Launch page: EHR launch (?iss=...&launch=...) starts authorization at once; without them
// the clinician picks an allow-listed FHIR server for a standalone launch.
import { authorize, loadConfig } from "./smart.js";

const status = document.getElementById("launch-status");
const form = document.getElementById("standalone-form");
const select = document.getElementById("iss-select");

function fail(message) {
  status.textContent = message;
  status.classList.add("error");
}

async function main() {
  let config;
  try {
    config = await loadConfig();
  } catch (e) {
    fail(e.message);
    return;
  }
  const params = new URLSearchParams(window.location.search);
  const iss = params.get("iss");
  const launch = params.get("launch");
  if (iss && launch) {
    status.textContent = "Connecting to the EHR…";
    try {
      await authorize({ iss, launch, config });
    } catch (e) {
      fail(e.message);
    }
    return;
  }
  if (iss && !launch) {
    fail("The EHR sent no launch context. Open the app from the patient's chart, or use the standalone launch below.");
  }
  if (!config.fhirServers.length) {
    fail("No FHIR server is configured for this app. Ask the administrator to set the FHIR server allow-list.");
    return;
  }
  for (const server of config.fhirServers) {
    const option = document.createElement("option");
    option.value = server;
    option.textContent = server;
    select.append(option);
  }
  if (!iss) status.textContent = "Not opened from an EHR.";
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Connecting to the EHR…";
    try {
      await authorize({ iss: select.value, launch: null, config });
    } catch (e) {
      fail(e.message);
    }
  });
}

main();
