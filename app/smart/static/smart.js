// SMART App Launch 2.x client (EHR launch and standalone launch): discovery, authorization
// code with PKCE S256 (WebCrypto), state check, token exchange. The token lives in
// sessionStorage only (never localStorage, never a cookie) and is sent only to the launch's
// FHIR server and to this service's /app/api/assessment.

const PENDING = "vcf-cds.smart.pending";
const SESSION = "vcf-cds.smart.session";

export async function loadConfig() {
  const r = await fetch("config.json", { cache: "no-store", headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`The app configuration could not be loaded (HTTP ${r.status}).`);
  return r.json();
}

export function normalizeIss(iss) {
  return String(iss || "").trim().replace(/\/+$/, "");
}

export function isAllowed(iss, config) {
  const wanted = normalizeIss(iss);
  return Boolean(wanted) && config.fhirServers.some((s) => normalizeIss(s) === wanted);
}

function base64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function randomString(bytes = 32) {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return base64url(buf);
}

export async function pkcePair() {
  const verifier = randomString(48); // 64 characters, RFC 7636 section 4.1
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

export async function discover(iss) {
  const url = `${normalizeIss(iss)}/.well-known/smart-configuration`;
  let r;
  try {
    r = await fetch(url, { headers: { Accept: "application/json" } });
  } catch {
    throw new Error("The EHR's SMART configuration could not be reached.");
  }
  if (!r.ok) throw new Error(`The EHR's SMART configuration answered HTTP ${r.status}.`);
  const conf = await r.json();
  if (!conf.authorization_endpoint || !conf.token_endpoint) {
    throw new Error("The EHR's SMART configuration names no authorization or token endpoint.");
  }
  const methods = conf.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes("S256")) {
    throw new Error("The EHR does not support PKCE with S256; the app will not launch without it.");
  }
  return conf;
}

export function redirectUri(config) {
  return new URL(config.redirectPath, window.location.origin).href;
}

// Start authorization: EHR launch when `launch` is given, else standalone (launch/patient).
export async function authorize({ iss, launch, config }) {
  if (!isAllowed(iss, config)) {
    throw new Error("This FHIR server is not on the list of servers the app may use.");
  }
  const conf = await discover(iss);
  const { verifier, challenge } = await pkcePair();
  const state = randomString(32);
  const scope = `${launch ? "launch" : "launch/patient"} ${config.scopes}`.trim();
  const pending = {
    state,
    verifier,
    iss: normalizeIss(iss),
    tokenEndpoint: conf.token_endpoint,
    redirectUri: redirectUri(config),
    clientId: config.clientId,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(conf.authorization_endpoint);
  const params = {
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: pending.redirectUri,
    scope,
    state,
    aud: pending.iss,
    code_challenge: challenge,
    code_challenge_method: "S256",
  };
  if (launch) params.launch = launch;
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  window.location.assign(url.href);
}

export function parseAppContext(raw) {
  let ctx = raw;
  if (typeof raw === "string") {
    try {
      ctx = JSON.parse(raw);
    } catch {
      return { consultId: null, orders: [] };
    }
  }
  if (!ctx || typeof ctx !== "object") return { consultId: null, orders: [] };
  const orders = Array.isArray(ctx.orders)
    ? ctx.orders
        .filter((o) => o && typeof o.system === "string" && typeof o.code === "string")
        .map((o) => ({ system: o.system, code: o.code, display: typeof o.display === "string" ? o.display : null }))
    : [];
  return { consultId: typeof ctx.consultId === "string" ? ctx.consultId : null, orders };
}

// The redirect back from the authorization server: check state, exchange the code.
export async function completeAuthorization(search) {
  const params = new URLSearchParams(search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  window.history.replaceState(null, "", window.location.pathname); // the code leaves the URL
  if (params.get("error")) {
    throw new Error(`The EHR refused the launch: ${params.get("error_description") || params.get("error")}.`);
  }
  if (!pending || !params.get("state") || params.get("state") !== pending.state) {
    throw new Error("The launch could not be verified (state mismatch). Launch the app again.");
  }
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code: params.get("code") || "",
    redirect_uri: pending.redirectUri,
    client_id: pending.clientId,
    code_verifier: pending.verifier,
  });
  let r;
  try {
    r = await fetch(pending.tokenEndpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body,
    });
  } catch {
    throw new Error("The EHR's token endpoint could not be reached.");
  }
  if (!r.ok) throw new Error(`The EHR refused the token request (HTTP ${r.status}).`);
  const token = await r.json();
  if (!token.access_token || !token.patient) {
    throw new Error("The EHR's token response has no access token or no patient in context.");
  }
  const session = {
    iss: pending.iss,
    accessToken: token.access_token,
    patient: String(token.patient),
    scope: String(token.scope || ""),
    appContext: parseAppContext(token.appContext),
    expiresAt: token.expires_in ? Date.now() + Number(token.expires_in) * 1000 : null,
  };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return session;
}

export function currentSession() {
  const session = JSON.parse(sessionStorage.getItem(SESSION) || "null");
  if (!session) return null;
  if (session.expiresAt && Date.now() > session.expiresAt) {
    sessionStorage.removeItem(SESSION);
    return null;
  }
  return session;
}

export function endSession() {
  sessionStorage.removeItem(SESSION);
}

// May the token create resources of this type? (SMART v2 "c" or v1 "write"/"*")
export function canCreate(session, type) {
  return session.scope.split(/\s+/).some((s) => {
    const m = /^(patient|user)\/(\*|[A-Za-z]+)\.([^?]+)/.exec(s);
    if (!m || (m[2] !== "*" && m[2] !== type)) return false;
    const perms = m[3];
    return perms === "write" || perms === "*" || (/^[cruds]+$/.test(perms) && perms.includes("c"));
  });
}
