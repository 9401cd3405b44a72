// wgq web: the page. Plain JavaScript, no framework, nothing fetched but this server's API.
// Everything the server or a user wrote is put in the page with textContent or as an
// attribute value: never parsed as HTML. Styles are classes, or CSSOM from here (CSP
// `style-src 'self'` allows both; it forbids style attributes in the HTML).

const $ = (id) => document.getElementById(id);
// Relative to the page, so that the page works under a reverse proxy's sub-path.
const url = (path) => new URL(path, document.baseURI).href;
const POLL_MS = 1000;
const HISTORY = 60; // rate samples kept per client for its chart (one a poll)
const PAGE = 100; // cards shown at first, and added by "show more"
const HIST_REFRESH_MS = 60000; // an open traffic history is read again after this
const KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const state = {
  lang: "en",
  messages: {},
  fallback: {},
  languages: [],
  settings: { chartType: 0, oneTimeLinks: false, expiry: false, rememberMe: false, trafficStats: false, sortClients: false },
  requiresPassword: true,
  requiresTotp: false, // GET /api/session says so when `web-admin totp enable` is on
  loggedIn: false,
  clients: new Map(), // id -> { data, el, hist: {down: [], up: []}, prev, rate, order, history }
  timer: 0,
  polling: false,
  // The client routes: wg-easy 14's (one interface), or wgq's /api/v1 one of the
  // interfaces picked in the page when the server serves several.
  base: "api/wireguard/client",
  ifname: "", // the interface the page shows
  limit: PAGE,
};

// ---------------------------------------------------------------- messages

function i18n(key, vars) {
  let s = state.messages[key] ?? state.fallback[key] ?? key;
  if (vars) {
    for (const [k, v] of Object.entries(vars)) s = s.split("{" + k + "}").join(String(v));
  }
  return s;
}

// Browser language tags to the codes of the language files (wg-easy's codes).
const ALIASES = {
  zh: "chs", "zh-cn": "chs", "zh-sg": "chs", "zh-hans": "chs", "zh-hans-cn": "chs", "zh-my": "chs",
  "zh-tw": "cht", "zh-hk": "cht", "zh-mo": "cht", "zh-hant": "cht", "zh-hant-tw": "cht",
  uk: "ua", nb: "no", nn: "no",
};

function codeFor(tag, available) {
  if (typeof tag !== "string" || !tag) return null;
  const t = tag.toLowerCase().replace(/_/g, "-").split(".")[0];
  const candidates = [t, ALIASES[t], t.split("-")[0], ALIASES[t.split("-")[0]]];
  for (const c of candidates) if (c && available.includes(c)) return c;
  return null;
}

const LOCALES = { en: "en", chs: "zh-CN", cht: "zh-TW", ua: "uk", no: "nb", si: "sl" };
const locale = () => LOCALES[state.lang] || state.lang;

async function loadLanguage(code) {
  const messages = await call("GET", "i18n/" + encodeURIComponent(code) + ".json");
  state.lang = code;
  state.messages = messages && typeof messages === "object" ? messages : {};
  document.documentElement.lang = locale();
  applyStatic(document);
  const sel = $("lang");
  sel.value = code;
  for (const entry of state.clients.values()) {
    fill(entry);
    if (entry.history.open) drawHistory(entry);
  }
}

// The language: the one picked in this browser; else the server's (`/api/lang`: LANG when
// it is a wg-easy code, else the server's pick from Accept-Language); else the browser's;
// else English.
async function chooseLanguage(serverLang) {
  const available = state.languages.map((l) => l.code);
  let stored = null;
  try {
    stored = localStorage.getItem("wgq.lang");
  } catch (_) {
    /* storage may be off */
  }
  const picks = [stored, typeof serverLang === "string" ? serverLang : null, ...(navigator.languages || [navigator.language])];
  for (const p of picks) {
    const c = codeFor(p, available);
    if (c) return c;
  }
  return "en";
}

function applyStatic(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = i18n(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = i18n(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = i18n(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", i18n(el.dataset.i18nLabel));
    el.title = i18n(el.dataset.i18nLabel);
  }
  if (root === document) applyStatic($("tpl-client").content);
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, data, retryAfter) {
    super(serverMessage(data) || "HTTP " + status);
    this.status = status;
    this.data = data;
    this.retryAfter = retryAfter;
  }
}

function serverMessage(data) {
  if (typeof data === "string") return data.slice(0, 300);
  if (data && typeof data === "object") {
    for (const k of ["error", "message", "statusMessage"]) if (typeof data[k] === "string") return data[k].slice(0, 300);
  }
  return "";
}

async function call(method, path, body) {
  const opts = { method, credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(url(path), opts);
  const text = await r.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (_) {
      data = text;
    }
  }
  if (!r.ok) throw new ApiError(r.status, data, r.headers.get("Retry-After"));
  return data;
}

const clientPath = (id, rest) => state.base + "/" + encodeURIComponent(id) + (rest ? "/" + rest : "");

// What to tell the user about a failed call.
function explain(e) {
  if (!(e instanceof ApiError)) return i18n("error.network");
  if (e.status === 429) return throttled(e);
  const m = serverMessage(e.data);
  return m ? i18n("error.server", { message: m }) : i18n("error.status", { status: e.status });
}

function throttled(e) {
  const s = parseInt(e.retryAfter || "", 10);
  return Number.isFinite(s) && s > 0 ? i18n("login.throttledFor", { seconds: s }) : i18n("login.throttled");
}

function showError(el, text) {
  el.textContent = text || "";
  el.hidden = !text;
}

// ---------------------------------------------------------------- formatting

function bytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  const digits = i === 0 || n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(n) + " " + units[i];
}

function parseDate(s) {
  if (!s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

function dateTime(d) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(d);
}

// An expiry is the end of a day in UTC (what the API sets): shown as that day.
function expiryDay(d) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(d);
}

function ago(d) {
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  if (Math.abs(s) < 60) return rtf.format(-s, "second");
  if (Math.abs(s) < 3600) return rtf.format(-Math.round(s / 60), "minute");
  if (Math.abs(s) < 86400) return rtf.format(-Math.round(s / 3600), "hour");
  return rtf.format(-Math.round(s / 86400), "day");
}

// YYYY-MM-DD of an expiry (its UTC day; what <input type=date> holds).
function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

function initials(name) {
  const chars = Array.from((name || "?").trim());
  return (chars[0] || "?").toUpperCase();
}

function hue(s) {
  let h = 0;
  for (const c of String(s)) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}

// All of a client's addresses: wgq's `addresses`, else the server-side AllowedIPs, else
// wg-easy 14's one IPv4 `address`.
function addresses(c) {
  if (Array.isArray(c.addresses) && c.addresses.length) return c.addresses.join(", ");
  if (typeof c.allowedIPs === "string" && c.allowedIPs.trim()) return c.allowedIPs.trim();
  if (Array.isArray(c.allowedIPs) && c.allowedIPs.length) return c.allowedIPs.join(", ");
  if (typeof c.address === "string" && c.address) return c.address;
  return "–";
}

// ---------------------------------------------------------------- the chart

const SVG_NS = "http://www.w3.org/2000/svg";
const W = 120;
const H = 36;

function svg(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

// Hand-drawn: the last HISTORY rates, download and upload, as lines, areas or bars.
function drawChart(box, hist, type) {
  box.replaceChildren();
  // Nothing moved yet: no chart (on a phone it takes no room).
  const idle = !hist.down.some((v) => v > 0) && !hist.up.some((v) => v > 0);
  box.classList.toggle("idle", idle);
  if (!type || idle) return;
  const n = HISTORY;
  const max = Math.max(1, ...hist.down, ...hist.up);
  const x = (i, len) => W - (len - 1 - i) * (W / (n - 1));
  const y = (v) => H - 1 - (v / max) * (H - 4);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", class: "spark", role: "img" });
  root.append(svg("line", { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: "axis" }));
  for (const [series, cls] of [[hist.up, "up"], [hist.down, "down"]]) {
    const len = series.length;
    if (!len) continue;
    if (type === 3) {
      const bw = W / n / 2;
      series.forEach((v, i) => {
        const off = cls === "down" ? 0 : bw;
        const top = y(v);
        root.append(svg("rect", { x: (x(i, len) - W / n + off).toFixed(2), y: top.toFixed(2), width: bw.toFixed(2), height: Math.max(0, H - 1 - top).toFixed(2), class: "bar " + cls }));
      });
      continue;
    }
    const pts = series.map((v, i) => x(i, len).toFixed(2) + "," + y(v).toFixed(2));
    if (type === 2) {
      const first = x(0, len).toFixed(2);
      root.append(svg("polygon", { points: `${first},${H - 1} ${pts.join(" ")} ${W},${H - 1}`, class: "area " + cls }));
    }
    root.append(svg("polyline", { points: pts.join(" "), class: "line " + cls }));
  }
  box.append(root);
}

// ---------------------------------------------------------------- the traffic history

// The server keeps each client's traffic (15-minute slots for 24 hours, daily totals for 30
// days); a card shows it on demand, read again while it stays open.
const HW = 600;
const HH = 140;

const historyShown = () => state.settings.trafficStats && state.settings.chartType > 0;

function toggleHistory(entry) {
  entry.history.open = !entry.history.open;
  fill(entry);
  if (entry.history.open) {
    drawHistory(entry);
    loadHistory(entry);
  }
}

function historyView(entry, view) {
  entry.history.view = view;
  drawHistory(entry);
}

async function loadHistory(entry) {
  const h = entry.history;
  if (h.loading) return;
  h.loading = true;
  h.at = Date.now();
  try {
    const data = await call("GET", clientPath(entry.id, "traffic"));
    h.data = data && typeof data === "object" ? data : null;
    h.error = "";
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      h.loading = false;
      return showLogin();
    }
    h.error = explain(e);
  }
  h.loading = false;
  h.at = Date.now();
  drawHistory(entry);
}

const amount = (v) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : null);

function drawHistory(entry) {
  const el = entry.el;
  if (!el) return;
  const q = (c) => el.querySelector(c);
  const h = entry.history;
  const month = h.view === "month";
  q(".hist-day").setAttribute("aria-pressed", String(!month));
  q(".hist-month").setAttribute("aria-pressed", String(month));
  const box = q(".hist-chart");
  box.replaceChildren();
  const d = h.data;
  const raw = d && Array.isArray(month ? d.days : d.slots) ? (month ? d.days : d.slots) : [];
  // The server's transmit is the client's download.
  const points = raw
    .filter((p) => p && typeof p === "object")
    .map((p) => ({ when: parseDate(month ? p.date + "T00:00:00Z" : p.start), down: amount(p.tx), up: amount(p.rx) }));
  const moved = points.some((p) => p.down || p.up);
  const note = q(".hist-note");
  note.textContent = h.error || (d && !moved ? i18n("history.empty") : "");
  note.hidden = !note.textContent;
  // Days are UTC days (as the server counts them); slots in the browser's time.
  const fmt = new Intl.DateTimeFormat(locale(), month ? { month: "short", day: "numeric", timeZone: "UTC" } : { hour: "2-digit", minute: "2-digit" });
  const when = (t) => (t ? fmt.format(t) : "");
  const sum = (k) => points.reduce((a, p) => a + (p[k] || 0), 0);
  const max = Math.max(0, ...points.map((p) => Math.max(p.down || 0, p.up || 0)));
  q(".hist-total").textContent = d ? i18n("history.total", { down: bytes(sum("down")), up: bytes(sum("up")) }) : "";
  q(".hist-from").textContent = points.length ? when(points[0].when) : "";
  q(".hist-to").textContent = points.length ? when(points[points.length - 1].when) : "";
  q(".hist-peak").textContent = moved ? i18n("history.peak", { value: bytes(max) }) : "";
  const type = state.settings.chartType;
  if (!points.length || !type) return;
  const n = points.length;
  const step = HW / n;
  const y = (v) => HH - 1 - (v / Math.max(1, max)) * (HH - 6);
  const name = entry.data && typeof entry.data.name === "string" ? entry.data.name : "";
  const root = svg("svg", { viewBox: `0 0 ${HW} ${HH}`, preserveAspectRatio: "none", class: "hist-svg " + (month ? "month" : "day"), role: "img" });
  root.setAttribute("aria-label", i18n("history.title", { name }) + ": " + q(".hist-total").textContent);
  root.append(svg("line", { x1: 0, y1: HH - 0.5, x2: HW, y2: HH - 0.5, class: "axis" }));
  for (const cls of ["up", "down"]) {
    if (type === 3) {
      points.forEach((p, i) => {
        const v = p[cls];
        if (!v) return;
        const top = y(v);
        const x = i * step + (cls === "down" ? step * 0.1 : step * 0.5);
        root.append(svg("rect", { x: x.toFixed(2), y: top.toFixed(2), width: (step * 0.4).toFixed(2), height: Math.max(1, HH - 1 - top).toFixed(2), class: "bar " + cls }));
      });
      continue;
    }
    // Lines (and areas) break where nothing was sampled.
    let run = [];
    const flush = () => {
      if (!run.length) return;
      if (run.length === 1) run = [[run[0][0] - step / 2, run[0][1]], [run[0][0] + step / 2, run[0][1]]];
      const pts = run.map(([x, v]) => x.toFixed(2) + "," + y(v).toFixed(2)).join(" ");
      if (type === 2) {
        root.append(svg("polygon", { points: `${run[0][0].toFixed(2)},${HH - 1} ${pts} ${run[run.length - 1][0].toFixed(2)},${HH - 1}`, class: "area " + cls }));
      }
      root.append(svg("polyline", { points: pts, class: "line " + cls }));
      run = [];
    };
    points.forEach((p, i) => {
      if (p[cls] === null) flush();
      else run.push([i * step + step / 2, p[cls]]);
    });
    flush();
  }
  // A hover target per point, with its figures.
  points.forEach((p, i) => {
    const hit = svg("rect", { x: (i * step).toFixed(2), y: 0, width: step.toFixed(2), height: HH, class: "hit" });
    const t = document.createElementNS(SVG_NS, "title");
    t.textContent = i18n("history.point", { time: when(p.when), down: p.down === null ? "–" : bytes(p.down), up: p.up === null ? "–" : bytes(p.up) });
    hit.append(t);
    root.append(hit);
  });
  box.append(root);
}

// ---------------------------------------------------------------- the list

// A client's entry; its card (DOM) is made when it is first shown.
function entryFor(id) {
  return {
    id,
    data: null,
    el: null,
    hist: { down: [], up: [] },
    prev: null,
    rate: { down: 0, up: 0 },
    order: 0,
    history: { open: false, view: "day", data: null, error: "", at: 0, loading: false },
  };
}

function card(entry) {
  if (entry.el) return entry.el;
  const el = $("tpl-client").content.firstElementChild.cloneNode(true);
  el.dataset.id = entry.id;
  entry.el = el;
  const q = (c) => el.querySelector(c);
  q(".act-rename").addEventListener("click", () => rename(entry));
  q(".act-address").addEventListener("click", () => changeAddress(entry));
  q(".act-expiry").addEventListener("click", () => changeExpiry(entry));
  q(".act-enable").addEventListener("change", (ev) => setEnabled(entry, ev.target));
  q(".act-qr").addEventListener("click", () => showQr(entry));
  q(".act-link").addEventListener("click", () => oneTimeLink(entry));
  q(".act-delete").addEventListener("click", () => confirmDelete(entry));
  q(".act-history").addEventListener("click", () => toggleHistory(entry));
  q(".hist-day").addEventListener("click", () => historyView(entry, "day"));
  q(".hist-month").addEventListener("click", () => historyView(entry, "month"));
  return el;
}

function fill(entry) {
  const c = entry.data;
  if (!c || !entry.el) return;
  const el = entry.el;
  const q = (s) => el.querySelector(s);
  const name = typeof c.name === "string" && c.name ? c.name : i18n("client.unnamed");
  q(".name").textContent = name;
  q(".name").title = c.publicKey || "";
  const av = q(".avatar");
  av.textContent = initials(name);
  av.style.setProperty("--hue", String(hue(c.publicKey || name)));
  q(".address").textContent = addresses(c);
  const created = parseDate(c.createdAt);
  q(".created").textContent = created ? dateTime(created) : "–";
  const exp = parseDate(c.expiredAt);
  const expired = !!exp && exp.getTime() <= Date.now();
  q(".expires").textContent = exp ? expiryDay(exp) : i18n("expiry.never");
  q(".expiry-item").hidden = !state.settings.expiry && !exp;
  q(".act-expiry").hidden = !state.settings.expiry;
  q(".expired").hidden = !expired;
  q(".endpoint").textContent = typeof c.endpoint === "string" && c.endpoint ? c.endpoint : "–";
  const hs = parseDate(c.latestHandshakeAt);
  const online = !!hs && Date.now() - hs.getTime() < 180000;
  q(".handshake").textContent = hs ? ago(hs) : i18n("client.never");
  q(".dot").classList.toggle("on", online);
  const rx = Number(c.transferRx) || 0;
  const tx = Number(c.transferTx) || 0;
  // The server's transmit is the client's download. Without UI_TRAFFIC_STATS: the rates only.
  const stats = state.settings.trafficStats;
  q(".down").textContent = "↓ " + (stats ? bytes(tx) + " · " : "") + bytes(entry.rate.down) + "/s";
  q(".up").textContent = "↑ " + (stats ? bytes(rx) + " · " : "") + bytes(entry.rate.up) + "/s";
  q(".down").title = stats ? i18n("client.download") : i18n("client.downloadNow");
  q(".up").title = stats ? i18n("client.upload") : i18n("client.uploadNow");
  const enabled = c.enabled !== false;
  const toggle = q(".act-enable");
  if (!toggle.disabled) toggle.checked = enabled;
  el.classList.toggle("disabled", !enabled);
  const own = c.downloadableConfig === false;
  q(".own-key").hidden = !own;
  q(".own-key").title = own ? i18n("client.ownKeyHint") : "";
  q(".act-qr").hidden = own;
  q(".act-download").hidden = own;
  q(".act-link").hidden = own || !state.settings.oneTimeLinks;
  const dl = q(".act-download");
  dl.href = url(clientPath(c.id, "configuration"));
  const otlExp = parseDate(c.oneTimeLinkExpiresAt);
  const showOtl = typeof c.oneTimeLink === "string" && c.oneTimeLink && (!otlExp || otlExp.getTime() > Date.now());
  q(".otl").hidden = !showOtl;
  if (showOtl) {
    const a = q(".otl-link");
    a.href = url("cnf/" + encodeURIComponent(c.oneTimeLink));
    a.textContent = a.href;
  }
  drawChart(q(".chart"), entry.hist, state.settings.chartType);
  const h = entry.history;
  const showHist = historyShown();
  if (!showHist) h.open = false;
  q(".act-history").hidden = !showHist;
  q(".act-history").setAttribute("aria-expanded", String(h.open));
  q(".history").hidden = !h.open;
  if (h.open && !h.loading && Date.now() - h.at > HIST_REFRESH_MS) loadHistory(entry);
}

function push(arr, v) {
  arr.push(v);
  if (arr.length > HISTORY) arr.splice(0, arr.length - HISTORY);
}

function update(list) {
  if (!Array.isArray(list)) list = [];
  const now = performance.now();
  const seen = new Set();
  list.forEach((c, order) => {
    if (!c || typeof c.id !== "string") return;
    seen.add(c.id);
    let entry = state.clients.get(c.id);
    if (!entry) {
      entry = entryFor(c.id);
      state.clients.set(c.id, entry);
    }
    entry.order = order;
    const rx = Number(c.transferRx) || 0;
    const tx = Number(c.transferTx) || 0;
    if (entry.prev) {
      const dt = (now - entry.prev.t) / 1000;
      if (dt > 0.2) {
        entry.rate = { down: Math.max(0, (tx - entry.prev.tx) / dt), up: Math.max(0, (rx - entry.prev.rx) / dt) };
        push(entry.hist.down, entry.rate.down);
        push(entry.hist.up, entry.rate.up);
        entry.prev = { rx, tx, t: now };
      }
    } else {
      entry.prev = { rx, tx, t: now };
    }
    entry.data = c;
  });
  for (const [id, entry] of state.clients) {
    if (!seen.has(id)) {
      if (entry.el) entry.el.remove();
      state.clients.delete(id);
    }
  }
  arrange();
}

// One collator per language (localeCompare would build one per comparison).
let collator = null;
const collate = (a, b) => {
  if (!collator || collator.lang !== state.lang) {
    collator = new Intl.Collator(locale());
    collator.lang = state.lang;
  }
  return collator.compare(a, b);
};

const sorters = {
  name: (a, b) => collate(String(a.name || ""), String(b.name || "")),
  created: (a, b) => (parseDate(b.createdAt)?.getTime() || 0) - (parseDate(a.createdAt)?.getTime() || 0),
  handshake: (a, b) => (parseDate(b.latestHandshakeAt)?.getTime() || 0) - (parseDate(a.latestHandshakeAt)?.getTime() || 0),
  traffic: (a, b) => (Number(b.transferRx) || 0) + (Number(b.transferTx) || 0) - (Number(a.transferRx) || 0) - (Number(a.transferTx) || 0),
  address: (a, b) => ipKey(a.address) - ipKey(b.address),
};

function ipKey(a) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)/.exec(String(a || ""));
  return m ? ((+m[1] * 256 + +m[2]) * 256 + +m[3]) * 256 + +m[4] : Number.MAX_SAFE_INTEGER;
}

function matches(c, q) {
  if (!q) return true;
  const hay = [c.name, c.address, ...(Array.isArray(c.addresses) ? c.addresses : []), c.publicKey, c.endpoint]
    .filter((v) => typeof v === "string")
    .join("\n")
    .toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

// Shows the first `state.limit` clients the search matches, in the sort order, and fills
// their cards; the others have no DOM at all (20,000 clients cost a sort and a filter a
// second, not 20,000 cards). Moves nodes only when the order changed (a focused control
// keeps its focus).
function arrange() {
  const q = $("search").value.trim();
  const all = [...state.clients.values()].filter((e) => e.data);
  if (state.settings.sortClients) {
    const sorter = sorters[$("sort").value] || sorters.name;
    all.sort((a, b) => sorter(a.data, b.data) || sorters.name(a.data, b.data) || (a.id < b.id ? -1 : 1));
  } else {
    // UI_ENABLE_SORT_CLIENTS off: the order of the server file, as wg-easy lists them.
    all.sort((a, b) => a.order - b.order);
  }
  const matching = q ? all.filter((e) => matches(e.data, q)) : all;
  const shown = matching.slice(0, state.limit);
  const list = $("list");
  const order = shown.map((e) => e.id);
  const current = [...list.children].map((el) => el.dataset.id);
  if (order.length !== current.length || order.some((id, i) => id !== current[i])) {
    list.replaceChildren(...shown.map((e) => card(e)));
  }
  for (const e of shown) fill(e);
  const more = matching.length - shown.length;
  $("more").hidden = more <= 0;
  if (more > 0) $("more").textContent = i18n("clients.more", { count: Math.min(more, PAGE), total: new Intl.NumberFormat(locale()).format(matching.length) });
  $("empty").hidden = all.length !== 0;
  $("no-match").hidden = all.length === 0 || matching.length !== 0;
}

async function refresh() {
  const base = state.base;
  const list = await call("GET", base);
  // An answer for the interface shown before a switch is dropped.
  if (base !== state.base) return;
  update(list);
  showError($("list-error"), "");
}

function schedule() {
  clearTimeout(state.timer);
  if (state.loggedIn) state.timer = setTimeout(poll, POLL_MS);
}

async function poll() {
  if (!state.loggedIn) return;
  if (document.hidden) return schedule();
  if (state.polling) return schedule();
  state.polling = true;
  try {
    await refresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      showLogin();
      return;
    }
    showError($("list-error"), i18n("error.refresh", { reason: explain(e) }));
  } finally {
    state.polling = false;
    schedule();
  }
}

// ---------------------------------------------------------------- dialogs

function open(d) {
  for (const el of d.querySelectorAll(".notice.error")) showError(el, "");
  for (const el of d.querySelectorAll(".preview")) {
    el.textContent = "";
    el.hidden = true;
  }
  if (!d.open) d.showModal();
}

// Runs `work` with the dialog's submit button off; on success closes the dialog and
// refreshes the list; on failure shows why in the dialog.
async function submitIn(d, button, errorEl, work) {
  button.disabled = true;
  try {
    const result = await work();
    d.close();
    await refresh().catch(() => {});
    return result;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      d.close();
      showLogin();
    } else {
      showError(errorEl, e.message && !(e instanceof ApiError) ? e.message : explain(e));
    }
    return undefined;
  } finally {
    button.disabled = false;
  }
}

class InputError extends Error {}

// The request of the "new client" form (checked; InputError says what is wrong).
function newRequest() {
  const body = { name: checkName($("new-name").value) };
  const exp = $("new-expiry").value;
  if (exp) body.expiredDate = exp;
  const key = $("new-key").value.trim();
  if (key) {
    if (!KEY_RE.test(key)) throw new InputError(i18n("error.publicKey"));
    body.publicKey = key;
  }
  return { method: "POST", path: state.base, body };
}

function checkName(v) {
  const name = v.trim();
  if (!name) throw new InputError(i18n("error.nameEmpty"));
  if (Array.from(name).length > 64) throw new InputError(i18n("error.nameLong"));
  if (CONTROL_RE.test(name)) throw new InputError(i18n("error.nameControl"));
  return name;
}

// A change as a request ({method, path, body}): sent, or sent with ?dryRun=1 for a preview.
const send = (r) => call(r.method, r.path, r.body);

// Shows what the change would do (the server's preview: the file's diff, the client file,
// the live plan; keys hidden) in the dialog's <pre>; nothing is changed.
async function preview(d, build) {
  const pre = d.querySelector(".preview");
  const err = d.querySelector(".notice.error");
  showError(err, "");
  try {
    const r = build();
    const sep = r.path.includes("?") ? "&" : "?";
    const a = await call(r.method, r.path + sep + "dryRun=1", r.body);
    const text = a && typeof a === "object" && typeof a.dryRun === "string" ? a.dryRun : "";
    pre.textContent = text.trim() ? text : i18n("preview.empty");
    pre.hidden = false;
  } catch (e) {
    pre.hidden = true;
    if (e instanceof ApiError && e.status === 401) {
      d.close();
      return showLogin();
    }
    showError(err, e instanceof InputError ? e.message : explain(e));
  }
}

let editRequest = null;

function edit({ title, label, value, type, hint, clear, request }) {
  $("edit-title").textContent = title;
  $("edit-label").textContent = label;
  const input = $("edit-value");
  input.type = type || "text";
  input.value = value || "";
  input.maxLength = type === "date" ? 10 : 64;
  $("edit-hint").textContent = hint || "";
  $("edit-hint").hidden = !hint;
  $("edit-clear").hidden = !clear;
  editRequest = request;
  open($("dlg-edit"));
  input.focus();
}

function rename(entry) {
  edit({
    title: i18n("rename.title"),
    label: i18n("field.name"),
    value: entry.data.name,
    request: (v) => ({ method: "PUT", path: clientPath(entry.id, "name"), body: { name: checkName(v) } }),
  });
}

function changeAddress(entry) {
  edit({
    title: i18n("address.title"),
    label: i18n("field.address"),
    value: entry.data.address,
    hint: i18n("address.hint"),
    request: (v) => {
      const a = v.trim();
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) throw new InputError(i18n("error.address"));
      return { method: "PUT", path: clientPath(entry.id, "address"), body: { address: a } };
    },
  });
}

function changeExpiry(entry) {
  const d = parseDate(entry.data.expiredAt);
  edit({
    title: i18n("expiry.title"),
    label: i18n("field.expiryDate"),
    value: d ? isoDay(d) : "",
    type: "date",
    hint: i18n("expiry.hint"),
    clear: true,
    request: (v) => ({ method: "PUT", path: clientPath(entry.id, "expireDate"), body: { expireDate: v ? v : null } }),
  });
}

async function setEnabled(entry, toggle) {
  const want = toggle.checked;
  toggle.disabled = true;
  try {
    await call("POST", clientPath(entry.id, want ? "enable" : "disable"));
    entry.data.enabled = want;
    await refresh().catch(() => {});
  } catch (e) {
    toggle.checked = !want;
    if (e instanceof ApiError && e.status === 401) return showLogin();
    showError($("list-error"), explain(e));
  } finally {
    toggle.disabled = false;
    fill(entry);
  }
}

function showQr(entry) {
  const c = entry.data;
  $("qr-title").textContent = c.name || "";
  $("qr-img").alt = i18n("qr.alt", { name: c.name || "" });
  // A fresh URL each time: the code is made from the file as it is now.
  $("qr-img").src = url(clientPath(c.id, "qrcode.svg")) + "?t=" + Date.now();
  $("qr-download").href = url(clientPath(c.id, "configuration"));
  open($("dlg-qr"));
}

async function oneTimeLink(entry) {
  const d = $("dlg-link");
  $("link-url").value = "";
  open(d);
  try {
    const r = await call("POST", clientPath(entry.id, "generateOneTimeLink"));
    let otl = r && typeof r === "object" ? r.oneTimeLink || r.link : null;
    if (!otl) {
      await refresh();
      otl = state.clients.get(entry.id)?.data?.oneTimeLink;
    }
    if (!otl) throw new InputError(i18n("link.none"));
    // A full URL from the server is used as it is; a bare link id is put under cnf/.
    $("link-url").value = /^[a-z]+:\/\//i.test(otl) ? otl : url("cnf/" + encodeURIComponent(otl));
    $("link-url").select();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      d.close();
      return showLogin();
    }
    showError($("link-error"), e instanceof InputError ? e.message : explain(e));
  }
}

function confirmDelete(entry) {
  $("confirm-text").textContent = i18n("delete.text", { name: entry.data.name || entry.id });
  state.deleting = entry;
  open($("dlg-confirm"));
}

function info(title, text) {
  $("info-title").textContent = title;
  $("info-text").textContent = text;
  open($("dlg-info"));
}

// ---------------------------------------------------------------- backup and restore

const MAX_BACKUP = 16 * 1024 * 1024; // the server's bound of a backup
let restoring = null; // the restore request the dialog would send

// The served interface's backup or restore route: wg-easy 14's, or /api/v1's of the
// interface picked in the page.
function backupPath(what) {
  return state.base.startsWith("api/v1/") ? state.base.replace(/\/clients$/, "/" + what) : "api/wireguard/" + what;
}

function setBackupLink() {
  $("backup").href = url(backupPath("backup"));
}

// A backup file was picked: checked here for what can be (size, JSON with a server), then
// the server's preview of the restore is shown with the confirmation.
async function pickedBackup() {
  const input = $("restore-file");
  const f = input.files && input.files[0];
  input.value = "";
  if (!f) return;
  const d = $("dlg-restore");
  restoring = null;
  $("restore-text").textContent = "";
  open(d);
  $("restore-submit").disabled = true;
  if (f.size > MAX_BACKUP) return showError($("restore-error"), i18n("restore.tooLarge"));
  let text = "";
  let count = 0;
  try {
    text = await f.text();
    const v = JSON.parse(text);
    if (!v || typeof v !== "object" || !v.server || typeof v.server !== "object") throw new Error("no server");
    count = v.clients && typeof v.clients === "object" ? Object.keys(v.clients).length : 0;
  } catch (_) {
    return showError($("restore-error"), i18n("restore.notBackup"));
  }
  $("restore-text").textContent = i18n("restore.text", { file: f.name, count, interface: state.ifname || "" });
  restoring = { method: "PUT", path: backupPath("restore"), body: { file: text } };
  await preview(d, () => restoring);
  // Only a restore the server could preview may be confirmed.
  $("restore-submit").disabled = d.querySelector(".preview").hidden;
}

async function submitRestore(ev) {
  ev.preventDefault();
  const r = restoring;
  if (!r) return;
  const a = await submitIn($("dlg-restore"), $("restore-submit"), $("restore-error"), () => send(r));
  if (!a) return;
  restoring = null;
  const text = a.changed === false ? i18n("restore.unchanged") : i18n("restore.done", { kept: typeof a.kept === "string" ? a.kept : "" });
  info(i18n("restore.doneTitle"), text);
}

// ---------------------------------------------------------------- login

function showLogin() {
  state.loggedIn = false;
  clearTimeout(state.timer);
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  $("loading").hidden = true;
  $("clients").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("remember-row").hidden = !state.settings.rememberMe;
  $("totp-row").hidden = !state.requiresTotp;
  $("password").focus();
}

// With several interfaces served, a selector; the list and every change then use
// /api/v1/interfaces/IF/clients.
async function loadInterfaces() {
  const sel = $("iface");
  let names = [];
  try {
    const v = await call("GET", "api/v1/interfaces");
    if (Array.isArray(v)) names = v.map((x) => (typeof x === "string" ? x : x && x.name)).filter((x) => typeof x === "string" && x);
  } catch (_) {
    /* a wg-easy-only server: one interface */
  }
  sel.replaceChildren();
  if (names.length < 2) {
    sel.hidden = true;
    state.base = "api/wireguard/client";
    state.ifname = names[0] || "";
    return;
  }
  for (const n of names) {
    const o = document.createElement("option");
    o.value = n;
    o.textContent = n;
    sel.append(o);
  }
  let pick = null;
  try {
    pick = localStorage.getItem("wgq.iface");
  } catch (_) {
    /* no storage */
  }
  sel.value = names.includes(pick) ? pick : names.includes("wg0") ? "wg0" : names[0];
  sel.hidden = false;
  state.base = "api/v1/interfaces/" + encodeURIComponent(sel.value) + "/clients";
  state.ifname = sel.value;
}

function switchInterface() {
  const v = $("iface").value;
  try {
    localStorage.setItem("wgq.iface", v);
  } catch (_) {
    /* not kept */
  }
  state.base = "api/v1/interfaces/" + encodeURIComponent(v) + "/clients";
  state.ifname = v;
  setBackupLink();
  state.clients.clear();
  $("list").replaceChildren();
  $("empty").hidden = true;
  poll();
}

async function showClients() {
  state.loggedIn = true;
  await loadInterfaces();
  setBackupLink();
  $("loading").hidden = true;
  $("login").hidden = true;
  $("clients").hidden = false;
  $("logout").hidden = !state.requiresPassword;
  $("totp-row").hidden = true;
  $("totp").value = "";
  $("password").value = "";
  showError($("login-error"), "");
  await poll();
}

// Whether an answer to a login asks for (or refuses) the second factor.
function totpAsked(data) {
  if (!data || typeof data !== "object") return data === "TOTP_REQUIRED";
  if (data.requiresTotp === true || data.totpRequired === true) return true;
  return [data.status, data.error, data.code, data.message].some((v) => typeof v === "string" && /TOTP/i.test(v));
}

async function login(ev) {
  ev.preventDefault();
  const button = $("login-submit");
  const err = $("login-error");
  const password = $("password").value;
  if (!password) return showError(err, i18n("login.empty"));
  const body = { password, remember: $("remember").checked };
  const totpShown = !$("totp-row").hidden;
  if (totpShown) {
    const code = $("totp").value.trim();
    if (!/^\d{6}$/.test(code)) return showError(err, i18n("login.totpFormat"));
    body.totp = code;
  }
  button.disabled = true;
  try {
    const r = await call("POST", "api/session", body);
    if (totpAsked(r)) {
      askTotp();
      return;
    }
    await showClients();
  } catch (e) {
    if (e instanceof ApiError && totpAsked(e.data)) {
      if (totpShown) showError(err, i18n("login.totpWrong"));
      else askTotp();
    } else if (e instanceof ApiError && e.status === 429) {
      showError(err, throttled(e));
    } else if (e instanceof ApiError && e.status === 401) {
      showError(err, i18n("login.wrong"));
    } else {
      showError(err, explain(e));
    }
  } finally {
    button.disabled = false;
  }
}

function askTotp() {
  state.requiresTotp = true;
  $("totp-row").hidden = false;
  showError($("login-error"), "");
  $("totp").focus();
}

// ---------------------------------------------------------------- start

async function optional(path, fallback) {
  try {
    const v = await call("GET", path);
    return v ?? fallback;
  } catch (_) {
    return fallback;
  }
}

function wire() {
  for (const b of document.querySelectorAll("dialog [data-close]")) b.addEventListener("click", () => b.closest("dialog").close());
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", async () => {
    try {
      await call("DELETE", "api/session");
    } catch (_) {
      /* the session is gone either way */
    }
    state.clients.clear();
    $("list").replaceChildren();
    showLogin();
  });
  $("search").addEventListener("input", () => {
    state.limit = PAGE;
    arrange();
  });
  $("more").addEventListener("click", () => {
    state.limit += PAGE;
    arrange();
  });
  $("iface").addEventListener("change", switchInterface);
  $("sort").addEventListener("change", () => {
    try {
      localStorage.setItem("wgq.sort", $("sort").value);
    } catch (_) {
      /* not kept */
    }
    arrange();
  });
  $("lang").addEventListener("change", async () => {
    const code = $("lang").value;
    try {
      localStorage.setItem("wgq.lang", code);
    } catch (_) {
      /* not kept */
    }
    await loadLanguage(code).catch(() => {});
  });
  $("new").addEventListener("click", () => {
    $("new-name").value = "";
    $("new-expiry").value = "";
    $("new-key").value = "";
    $("new-expiry-row").hidden = !state.settings.expiry;
    open($("dlg-new"));
    $("new-name").focus();
  });
  $("new-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const d = $("dlg-new");
    let req;
    try {
      req = newRequest();
    } catch (e) {
      return showError($("new-error"), e.message);
    }
    const done = await submitIn(d, $("new-submit"), $("new-error"), () => send(req).then(() => true));
    if (done && req.body.publicKey) info(i18n("new.ownKeyTitle"), i18n("new.ownKeyText", { name: req.body.name }));
  });
  $("new-preview").addEventListener("click", () => preview($("dlg-new"), newRequest));
  $("restore").addEventListener("click", () => $("restore-file").click());
  $("restore-file").addEventListener("change", pickedBackup);
  $("restore-form").addEventListener("submit", submitRestore);
  $("edit-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const request = editRequest;
    const v = $("edit-value").value;
    submitIn($("dlg-edit"), $("edit-submit"), $("edit-error"), async () => send(request(v)));
  });
  $("edit-clear").addEventListener("click", () => {
    const request = editRequest;
    submitIn($("dlg-edit"), $("edit-submit"), $("edit-error"), async () => send(request("")));
  });
  $("edit-preview").addEventListener("click", () => {
    const request = editRequest;
    preview($("dlg-edit"), () => request($("edit-value").value));
  });
  $("confirm-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const entry = state.deleting;
    if (!entry) return;
    submitIn($("dlg-confirm"), $("confirm-submit"), $("confirm-error"), () => call("DELETE", clientPath(entry.id)));
  });
  $("confirm-preview").addEventListener("click", () => {
    const entry = state.deleting;
    if (entry) preview($("dlg-confirm"), () => ({ method: "DELETE", path: clientPath(entry.id) }));
  });
  $("link-copy").addEventListener("click", async () => {
    const v = $("link-url").value;
    if (!v) return;
    try {
      await navigator.clipboard.writeText(v);
      $("link-copy").textContent = i18n("action.copied");
    } catch (_) {
      $("link-url").select();
    }
  });
  $("dlg-link").addEventListener("close", () => {
    $("link-copy").textContent = i18n("action.copy");
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.loggedIn) poll();
  });
}

async function start() {
  wire();
  try {
    const saved = localStorage.getItem("wgq.sort");
    if (saved && sorters[saved]) $("sort").value = saved;
  } catch (_) {
    /* no storage */
  }
  const [languages, serverLang, rememberMe, traffic, chart, otl, sort, expiry] = await Promise.all([
    optional("i18n/index.json", [{ code: "en", name: "English" }]),
    optional("api/lang", null),
    optional("api/remember-me", false),
    optional("api/ui-traffic-stats", false),
    optional("api/ui-chart-type", 0),
    optional("api/wg-enable-one-time-links", false),
    optional("api/ui-sort-clients", false),
    optional("api/wg-enable-expire-time", false),
  ]);
  state.languages = Array.isArray(languages) ? languages.filter((l) => l && typeof l.code === "string") : [];
  const sel = $("lang");
  for (const l of state.languages) {
    const o = document.createElement("option");
    o.value = l.code;
    o.textContent = typeof l.name === "string" ? l.name : l.code;
    sel.append(o);
  }
  state.settings = {
    chartType: [0, 1, 2, 3].includes(Number(chart)) ? Number(chart) : 0,
    oneTimeLinks: otl === true,
    expiry: expiry === true,
    rememberMe: rememberMe === true,
    trafficStats: traffic === true,
    sortClients: sort === true,
  };
  document.body.classList.toggle("no-chart", !state.settings.chartType);
  $("sort").hidden = !state.settings.sortClients;
  state.fallback = await optional("i18n/en.json", {});
  await loadLanguage(await chooseLanguage(serverLang)).catch(() => loadLanguage("en").catch(() => {}));
  try {
    const s = await call("GET", "api/session");
    state.requiresPassword = !(s && s.requiresPassword === false);
    state.requiresTotp = !!(s && s.requiresTotp === true);
    if (s && (s.authenticated === true || s.requiresPassword === false)) await showClients();
    else showLogin();
  } catch (e) {
    $("loading").hidden = true;
    showError($("fatal"), i18n("error.start", { reason: explain(e) }));
  }
}

start();
