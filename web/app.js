/*
 * imgflow web UI: upload an image, run an algorithm, poll its status,
 * show the result and its timings, and sweep thread counts.
 * Plain ES2020, no framework; the only global is `app`.
 * SPDX-License-Identifier: MIT
 */
"use strict";

const app = (() => {
  const API = "/api/v1";
  const POLL_MS = 300;
  const FETCH_TIMEOUT_MS = 15000;
  const UPLOAD_TIMEOUT_MS = 300000;
  const MAX_POLL_FAILURES = 5;
  const SWEEP_CHOICES = [1, 2, 4, 8, 16];
  const SWEEP_DEFAULT = [1, 2, 4];
  const STORE_KEY = "imgflow.ui.v1";
  const FINAL = new Set(["completed", "failed"]);

  const el = {};
  const state = {
    algorithms: [],
    limits: null,
    file: null,
    fileUrl: null,
    busy: false,
    ticker: null,
    sweep: null,
    charts: null,
    prefs: loadPrefs(),
  };

  /* ---------- small helpers ---------- */

  function $(id) {
    return document.getElementById(id);
  }

  function make(tag, props, children) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([key, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach((child) => {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : String(child));
      }
    });
    return node;
  }

  function isNum(v) {
    return typeof v === "number" && Number.isFinite(v);
  }

  function fmtSeconds(s) {
    if (!isNum(s)) return "—";
    const ms = s * 1000;
    if (ms < 1) return `${ms.toFixed(3)} ms`;
    if (ms < 10) return `${ms.toFixed(2)} ms`;
    if (ms < 1000) return `${ms.toFixed(1)} ms`;
    return `${s.toFixed(2)} s`;
  }

  function fmtMs(s) {
    if (!isNum(s)) return "—";
    const ms = s * 1000;
    return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
  }

  function fmtBytes(n) {
    if (!isNum(n)) return "—";
    if (n < 1000) return `${n} B`;
    if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
    if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
    return `${(n / 1e9).toFixed(2)} GB`;
  }

  function fmtElapsed(ms) {
    return `${(ms / 1000).toFixed(1)} s`;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /* ---------- preferences (localStorage, optional) ---------- */

  function loadPrefs() {
    try {
      const raw = window.localStorage.getItem(STORE_KEY);
      const prefs = raw ? JSON.parse(raw) : {};
      return prefs && typeof prefs === "object" ? prefs : {};
    } catch (e) {
      return {};
    }
  }

  function savePrefs() {
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(state.prefs));
    } catch (e) {
      /* storage disabled or full: preferences are optional */
    }
  }

  /* ---------- HTTP ---------- */

  function networkError(detail) {
    const err = new Error(detail ? `gateway unreachable (${detail})` : "gateway unreachable");
    err.network = true;
    return err;
  }

  function httpError(res, body) {
    const info = body && body.error;
    if (!info && res.status >= 502 && res.status <= 504) {
      return networkError(`HTTP ${res.status}`);
    }
    const message = (info && info.message) || res.statusText || "request failed";
    const err = new Error(`${res.status}: ${message}`);
    err.status = res.status;
    err.code = info && info.code;
    return err;
  }

  async function fetchWithTimeout(url, options, timeoutMs) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    try {
      return await fetch(url, { cache: "no-store", ...options, signal: ctl.signal });
    } catch (e) {
      throw networkError(ctl.signal.aborted ? `no answer in ${timeoutMs / 1000} s` : "");
    } finally {
      clearTimeout(timer);
    }
  }

  async function requestJson(url, options, timeoutMs) {
    const res = await fetchWithTimeout(url, options || {}, timeoutMs || FETCH_TIMEOUT_MS);
    let text;
    try {
      text = await res.text();
    } catch (e) {
      throw networkError("connection lost");
    }
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (e) {
      body = null;
    }
    if (!res.ok) throw httpError(res, body);
    if (!body || typeof body !== "object") {
      const err = new Error(`${res.status}: unexpected response from the gateway`);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  /* ---------- messages ---------- */

  function showError(message) {
    el.error.textContent = message;
    el.error.hidden = false;
    revealIfHidden(el.error);
  }

  function hideError() {
    el.error.hidden = true;
    el.error.textContent = "";
  }

  function showSweepMessage(message) {
    el.sweepMsg.textContent = message || "";
    el.sweepMsg.hidden = !message;
  }

  function revealIfHidden(node) {
    const box = node.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) {
      node.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  /* ---------- algorithms and parameters ---------- */

  async function loadAlgorithms() {
    el.algorithm.disabled = true;
    el.algorithm.replaceChildren(make("option", { value: "", text: "Loading…" }));
    el.algoRetry.hidden = true;
    try {
      const data = await requestJson(`${API}/algorithms`);
      state.algorithms = Array.isArray(data.algorithms) ? data.algorithms : [];
      state.limits = data.limits || null;
      hideError();
      renderLimits();
      renderAlgorithmOptions();
    } catch (err) {
      state.algorithms = [];
      el.algorithm.replaceChildren(make("option", { value: "", text: "Unavailable" }));
      el.algoDesc.textContent = "The algorithm list could not be loaded.";
      el.algoQueue.textContent = "";
      el.params.replaceChildren();
      el.algoRetry.hidden = false;
      showError(`Could not load algorithms: ${err.message}`);
    }
    updateControls();
  }

  function renderLimits() {
    const lim = state.limits;
    if (!lim) return;
    const parts = [];
    if (isNum(lim.max_upload_bytes)) parts.push(`up to ${fmtBytes(lim.max_upload_bytes)}`);
    if (isNum(lim.max_side)) parts.push(`${lim.max_side} px per side`);
    if (isNum(lim.max_pixels)) parts.push(`${(lim.max_pixels / 1e6).toFixed(0)} MP`);
    el.limitsHint.textContent = parts.length ? ` · ${parts.join(", ")}` : "";
  }

  function renderAlgorithmOptions() {
    const options = state.algorithms.map((a) => make("option", { value: a.name, text: a.name }));
    if (!options.length) options.push(make("option", { value: "", text: "No algorithms" }));
    el.algorithm.replaceChildren(...options);
    const saved = state.prefs.algorithm;
    if (saved && state.algorithms.some((a) => a.name === saved)) el.algorithm.value = saved;
    el.algorithm.disabled = !state.algorithms.length;
    renderAlgorithm();
  }

  function currentAlgorithm() {
    return state.algorithms.find((a) => a.name === el.algorithm.value) || null;
  }

  function renderAlgorithm() {
    const algo = currentAlgorithm();
    el.algoDesc.textContent = (algo && algo.description) || "";
    el.algoQueue.textContent = algo ? queueText(algo) : "";
    el.params.replaceChildren(...(algo ? (algo.parameters || []).map(paramField) : []));
  }

  function queueText(algo) {
    const parts = [];
    if (algo.queue) parts.push(`queue ${algo.queue}`);
    if (isNum(algo.queue_depth)) parts.push(`${algo.queue_depth} waiting`);
    if (isNum(algo.consumers)) {
      parts.push(`${algo.consumers} worker${algo.consumers === 1 ? "" : "s"}`);
    }
    return parts.join(" · ");
  }

  function savedParam(name) {
    const algo = el.algorithm.value;
    const all = state.prefs.params || {};
    return all[algo] && all[algo][name] !== undefined ? all[algo][name] : undefined;
  }

  function paramField(p) {
    const id = `param-${p.name}`;
    const isInt = p.type === "integer";
    const saved = savedParam(p.name);
    const input = make("input", {
      type: "number",
      id,
      name: p.name,
      min: isNum(p.minimum) ? p.minimum : null,
      max: isNum(p.maximum) ? p.maximum : null,
      step: isInt ? 1 : 0.1,
      value: saved !== undefined ? saved : p.default,
      inputmode: isInt ? "numeric" : "decimal",
      required: true,
      "data-type": p.type,
    });
    const range = isNum(p.minimum) && isNum(p.maximum) ? `${p.minimum}–${p.maximum}` : "";
    const hint = make("p", { className: "hint" }, [
      p.description || "",
      range ? make("span", { className: "range", text: ` (${range})` }) : null,
    ]);
    return make("div", { className: "param" }, [
      make("label", { for: id, text: p.name }),
      input,
      hint,
    ]);
  }

  function checkParam(p, raw) {
    const kind = p.type === "integer" ? "an integer" : "a number";
    const range = isNum(p.minimum) && isNum(p.maximum) ? ` from ${p.minimum} to ${p.maximum}` : "";
    const problem = `${p.name} must be ${kind}${range}`;
    if (raw === "") return problem;
    const v = Number(raw);
    if (!Number.isFinite(v)) return problem;
    if (p.type === "integer" && !Number.isInteger(v)) return problem;
    if (isNum(p.minimum) && v < p.minimum) return problem;
    if (isNum(p.maximum) && v > p.maximum) return problem;
    return null;
  }

  /* Read and validate the form; returns a job description or throws. */
  function readJob() {
    const algo = currentAlgorithm();
    if (!algo) throw new Error("Choose an algorithm first.");
    if (!state.file) throw new Error("Choose an image first.");
    const params = {};
    const problems = [];
    (algo.parameters || []).forEach((p) => {
      const input = $(`param-${p.name}`);
      const raw = input ? input.value.trim() : "";
      const problem = checkParam(p, raw);
      if (input) input.setAttribute("aria-invalid", problem ? "true" : "false");
      if (problem) problems.push(problem);
      else params[p.name] = raw;
    });
    if (problems.length) throw new Error(problems.join("; "));
    return { algorithm: algo.name, params, format: el.format.value, file: state.file };
  }

  function rememberChoices(job) {
    state.prefs.algorithm = job.algorithm;
    state.prefs.format = job.format;
    state.prefs.params = state.prefs.params || {};
    state.prefs.params[job.algorithm] = { ...job.params };
    savePrefs();
  }

  /* ---------- file choice ---------- */

  function chooseFile(file) {
    if (!file || state.busy) return;
    const max = state.limits && state.limits.max_upload_bytes;
    if (isNum(max) && file.size > max) {
      showError(`${file.name} is ${fmtBytes(file.size)}; the gateway accepts at most ${fmtBytes(max)}.`);
      return;
    }
    hideError();
    if (state.fileUrl) URL.revokeObjectURL(state.fileUrl);
    state.file = file;
    state.fileUrl = URL.createObjectURL(file);
    showFileInfo(file, null);
    el.originalPlaceholder.textContent = "Loading preview…";
    el.originalPlaceholder.hidden = false;
    el.originalImg.hidden = true;
    el.originalImg.src = state.fileUrl;
    el.dropZone.classList.add("has-file");
    resetJobView();
    updateControls();
  }

  function showFileInfo(file, dims) {
    const size = fmtBytes(file.size);
    const detail = dims ? `${dims} · ${size}` : size;
    el.fileInfo.replaceChildren(make("strong", { text: file.name }), detail);
    el.fileInfo.hidden = false;
  }

  function onOriginalLoad() {
    el.originalImg.hidden = false;
    el.originalPlaceholder.hidden = true;
    if (state.file) {
      showFileInfo(state.file, `${el.originalImg.naturalWidth}×${el.originalImg.naturalHeight} px`);
    }
  }

  function onOriginalError() {
    if (!state.file) return;
    el.originalImg.hidden = true;
    el.originalPlaceholder.textContent = "This browser cannot preview the file; the gateway will decide whether it can read it.";
    el.originalPlaceholder.hidden = false;
  }

  function bindDropZone() {
    const zone = el.dropZone;
    zone.addEventListener("click", () => {
      if (!state.busy) el.fileInput.click();
    });
    zone.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        if (!state.busy) el.fileInput.click();
      }
    });
    ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (ev) => {
      ev.preventDefault();
      ev.dataTransfer.dropEffect = state.busy ? "none" : "copy";
      zone.classList.add("is-dragover");
    }));
    ["dragleave", "dragend"].forEach((type) => zone.addEventListener(type, (ev) => {
      if (!zone.contains(ev.relatedTarget)) zone.classList.remove("is-dragover");
    }));
    zone.addEventListener("drop", (ev) => {
      ev.preventDefault();
      zone.classList.remove("is-dragover");
      const files = ev.dataTransfer && ev.dataTransfer.files;
      if (files && files.length) chooseFile(files[0]);
    });
    /* A file dropped beside the zone must not navigate away from the page. */
    ["dragover", "drop"].forEach((type) => window.addEventListener(type, (ev) => {
      if (!zone.contains(ev.target)) ev.preventDefault();
    }));
    el.fileInput.addEventListener("change", () => {
      if (el.fileInput.files && el.fileInput.files.length) chooseFile(el.fileInput.files[0]);
    });
  }

  /* ---------- running one job (shared by single runs and sweeps) ---------- */

  function buildForm(job) {
    const form = new FormData();
    form.append("image", job.file, job.file.name || "image");
    ["threads", "runs"].forEach((name) => {
      if (job.params[name] !== undefined) form.append(name, job.params[name]);
    });
    Object.entries(job.params).forEach(([name, value]) => {
      if (name !== "threads" && name !== "runs") form.append(name, value);
    });
    form.append("format", job.format);
    return form;
  }

  async function submitJob(job) {
    const url = `${API}/process/${encodeURIComponent(job.algorithm)}`;
    const body = await requestJson(url, { method: "POST", body: buildForm(job) }, UPLOAD_TIMEOUT_MS);
    if (!body.request_id) throw new Error("The gateway did not return a request id.");
    return body;
  }

  function isTransient(err) {
    return Boolean(err.network) || (isNum(err.status) && err.status >= 500);
  }

  async function pollStatus(url, hooks) {
    let failures = 0;
    for (;;) {
      if (hooks.cancelled && hooks.cancelled()) return { status: "cancelled" };
      let st;
      try {
        st = await requestJson(url);
      } catch (err) {
        failures += 1;
        if (!isTransient(err) || failures >= MAX_POLL_FAILURES) {
          return { status: "failed", message: err.message, network: Boolean(err.network) };
        }
        await sleep(POLL_MS * 2 * failures);
        continue;
      }
      failures = 0;
      if (hooks.onStatus) hooks.onStatus(st);
      if (FINAL.has(st.status)) return { status: st.status, data: st };
      await sleep(POLL_MS);
    }
  }

  /* Submit, then poll until completed/failed. Never throws. */
  async function runJob(job, hooks) {
    let accepted;
    if (hooks.onPhase) hooks.onPhase("uploading");
    try {
      accepted = await submitJob(job);
    } catch (err) {
      return {
        status: "failed",
        message: err.message,
        network: Boolean(err.network),
        rejected: true,
        httpStatus: err.status,
      };
    }
    if (hooks.onAccepted) hooks.onAccepted(accepted);
    if (hooks.onPhase) hooks.onPhase(accepted.status || "queued");
    const id = encodeURIComponent(accepted.request_id);
    const statusUrl = accepted.status_url || `${API}/status/${id}`;
    const outcome = await pollStatus(statusUrl, hooks);
    outcome.accepted = accepted;
    return outcome;
  }

  function jobErrorText(outcome) {
    if (outcome.message) return outcome.message;
    const err = outcome.data && outcome.data.error;
    if (err && err.message) return err.code ? `${err.message} (${err.code})` : err.message;
    return "the job failed without an error message";
  }

  /* ---------- single job view ---------- */

  function setStatus(word) {
    el.status.textContent = word;
    const known = ["idle", "uploading", "queued", "processing", "completed", "failed"];
    el.status.className = `badge badge-${known.includes(word) ? word : "processing"}`;
  }

  function startTicker() {
    stopTicker();
    const t0 = performance.now();
    const tick = () => {
      el.elapsed.textContent = fmtElapsed(performance.now() - t0);
    };
    tick();
    state.ticker = setInterval(tick, 100);
    return t0;
  }

  function stopTicker() {
    if (state.ticker) clearInterval(state.ticker);
    state.ticker = null;
  }

  function resetJobView() {
    stopTicker();
    setStatus("idle");
    el.elapsed.textContent = "";
    el.requestId.textContent = "";
    el.resultImg.hidden = true;
    el.resultImg.removeAttribute("src");
    el.resultLink.hidden = true;
    el.resultPlaceholder.textContent = "The result appears here";
    el.resultPlaceholder.hidden = false;
    el.timings.hidden = true;
    el.timings.replaceChildren();
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    if (state.busy) return;
    let job;
    try {
      job = readJob();
    } catch (err) {
      resetJobView();
      showError(err.message);
      return;
    }
    rememberChoices(job);
    hideError();
    resetJobView();
    setBusy(true, false);
    revealIfHidden(el.jobPanel);
    const t0 = startTicker();
    const outcome = await runJob(job, {
      onPhase: setStatus,
      onAccepted: (acc) => {
        el.requestId.textContent = `request ${acc.request_id}`;
      },
      onStatus: (st) => setStatus(st.status || "processing"),
    });
    stopTicker();
    el.elapsed.textContent = fmtElapsed(performance.now() - t0);
    showOutcome(outcome);
    setBusy(false, false);
  }

  function showOutcome(outcome) {
    if (outcome.status === "completed") {
      setStatus("completed");
      showResult(outcome.data, outcome.accepted);
      return;
    }
    setStatus("failed");
    el.resultPlaceholder.textContent = "No result";
    if (outcome.rejected) showError(outcome.message);
    else if (outcome.data) showError(`Processing failed: ${jobErrorText(outcome)}`);
    else showError(`Lost track of the job: ${jobErrorText(outcome)}`);
  }

  function showResult(st, accepted) {
    const id = st.request_id || accepted.request_id;
    const url = st.result_url || accepted.result_url || `${API}/result/${encodeURIComponent(id)}`;
    const meta = (st.result && st.result.metadata) || {};
    el.resultPlaceholder.textContent = "Loading result…";
    el.resultImg.src = url;
    el.resultLink.href = url;
    el.resultLink.setAttribute("download", `${id}.${meta.format === "jpeg" ? "jpg" : meta.format || "png"}`);
    el.resultLink.hidden = false;
    renderTimings(st);
  }

  function onResultLoad() {
    if (!el.resultImg.getAttribute("src")) return;
    el.resultImg.hidden = false;
    el.resultPlaceholder.hidden = true;
  }

  function onResultError() {
    if (!el.resultImg.getAttribute("src")) return;
    el.resultImg.hidden = true;
    el.resultPlaceholder.textContent = "The result image could not be loaded.";
    el.resultPlaceholder.hidden = false;
  }

  /* ---------- timings ---------- */

  function metric(label, value, sub, key) {
    return make("div", { className: key ? "metric key" : "metric" }, [
      make("dt", { text: label }),
      make("dd", {}, [value, sub ? make("span", { className: "sub", text: sub }) : null]),
    ]);
  }

  function imageSummary(info) {
    if (!info || !isNum(info.width) || !isNum(info.height)) return "";
    const parts = [`${info.width}×${info.height}`];
    if (isNum(info.channels)) parts.push(`${info.channels} ch`);
    if (info.format) parts.push(info.format);
    return parts.join(" · ");
  }

  function memoryText(mem) {
    if (isNum(mem)) return fmtBytes(mem);
    return mem ? String(mem) : "—";
  }

  function renderTimings(st) {
    const result = st.result || {};
    const m = result.metadata || {};
    const runs = isNum(m.runs) ? m.runs : Array.isArray(m.kernel_times) ? m.kernel_times.length : null;
    const items = [
      metric("Kernel time (mean)", fmtSeconds(m.kernel_time),
        runs ? `over ${runs} run${runs === 1 ? "" : "s"}` : "", true),
    ];
    if (isNum(m.kernel_time_min) || isNum(m.kernel_time_max)) {
      items.push(metric("Kernel min / max", `${fmtSeconds(m.kernel_time_min)} / ${fmtSeconds(m.kernel_time_max)}`));
    }
    items.push(metric("Processing time", fmtSeconds(result.processing_time), "fetch, decode, kernel runs, encode, store"));
    if (isNum(m.decode_time)) items.push(metric("Decode time", fmtSeconds(m.decode_time)));
    if (isNum(m.encode_time)) items.push(metric("Encode time", fmtSeconds(m.encode_time)));
    const asked = st.parameters && st.parameters.threads;
    items.push(metric("Threads used", isNum(m.threads_used) ? String(m.threads_used) : "—",
      isNum(asked) && asked !== m.threads_used ? `${asked} requested` : ""));
    items.push(metric("Memory used", isNum(m.memory_used_bytes) ? fmtBytes(m.memory_used_bytes) : memoryText(m.memory_used)));
    items.push(metric("Output size", fmtBytes(m.output_bytes), imageSummary(m)));
    if (st.input) items.push(metric("Input size", fmtBytes(st.input.bytes), imageSummary(st.input)));

    const children = [make("dl", {}, items)];
    if (Array.isArray(m.kernel_times) && m.kernel_times.length > 1) {
      const list = m.kernel_times.map((t) => fmtMs(t)).join(", ");
      children.push(make("p", { className: "runs-list", text: `Kernel time per run: ${list}` }));
    }
    el.timings.replaceChildren(...children);
    el.timings.hidden = false;
  }

  /* ---------- busy state ---------- */

  function setBusy(busy, sweeping) {
    state.busy = busy;
    el.sweepStop.hidden = !(busy && sweeping);
    el.sweepStop.disabled = false;
    el.submit.textContent = busy && !sweeping ? "Processing…" : "Process image";
    el.sweepRun.textContent = busy && sweeping ? "Sweeping…" : "Run sweep";
    el.dropZone.setAttribute("aria-disabled", busy ? "true" : "false");
    updateControls();
  }

  function updateControls() {
    const ready = Boolean(state.file && currentAlgorithm()) && !state.busy;
    el.submit.disabled = !ready;
    el.sweepRun.disabled = !ready;
  }

  /* ---------- thread sweep ---------- */

  function renderSweepChoices() {
    const saved = Array.isArray(state.prefs.sweep) ? state.prefs.sweep : SWEEP_DEFAULT;
    SWEEP_CHOICES.forEach((n) => {
      const box = make("input", {
        type: "checkbox",
        id: `sweep-t-${n}`,
        name: "sweep-threads",
        value: n,
        checked: saved.includes(n),
      });
      el.sweepThreads.append(make("label", { className: "check", for: `sweep-t-${n}` }, [box, String(n)]));
    });
    el.sweepThreads.addEventListener("change", () => {
      state.prefs.sweep = selectedSweepThreads();
      savePrefs();
      if (!state.sweep && state.charts) {
        setChartRange(state.prefs.sweep);
        state.charts.time.update();
        state.charts.speedup.update();
      }
    });
  }

  function selectedSweepThreads() {
    return SWEEP_CHOICES.filter((n) => {
      const box = $(`sweep-t-${n}`);
      return box && box.checked;
    });
  }

  function sweepJobs() {
    const base = readJob();
    const counts = selectedSweepThreads();
    if (!counts.length) throw new Error("Tick at least one thread count.");
    const spec = (currentAlgorithm().parameters || []).find((p) => p.name === "threads");
    if (spec && isNum(spec.maximum) && counts[counts.length - 1] > spec.maximum) {
      throw new Error(`threads must be at most ${spec.maximum} for ${base.algorithm}`);
    }
    return counts.map((n) => ({ ...base, params: { ...base.params, threads: String(n) } }));
  }

  function sweepRowCells(row) {
    const badge = make("span", { className: `badge badge-${row.badgeClass}`, text: row.status });
    const statusCell = make("td", {}, [badge, row.error ? make("span", { className: "err", text: row.error }) : null]);
    return [
      make("td", { className: "num", text: String(row.threads) }),
      make("td", { className: "num", text: row.kernel === null ? "—" : fmtMs(row.kernel) }),
      make("td", { className: "num", text: row.speedup === null ? "—" : `${row.speedup.toFixed(2)}×` }),
      statusCell,
    ];
  }

  function renderSweepTable() {
    const tbody = el.sweepTable.tBodies[0];
    const rows = state.sweep ? state.sweep.rows : [];
    if (!rows.length) {
      tbody.replaceChildren(make("tr", { className: "empty" }, [make("td", { colspan: 4, text: "No sweep yet" })]));
      return;
    }
    tbody.replaceChildren(...rows.map((row) => make("tr", { "data-threads": row.threads }, sweepRowCells(row))));
  }

  function setSweepRow(row, status, extra) {
    row.status = status;
    row.badgeClass = ["queued", "processing", "completed", "failed", "uploading"].includes(status)
      ? status : "idle";
    Object.assign(row, extra || {});
    computeSpeedups();
    renderSweepTable();
    updateCharts();
  }

  function computeSpeedups() {
    const rows = state.sweep.rows;
    const base = rows[0] && rows[0].kernel;
    rows.forEach((row) => {
      row.speedup = isNum(base) && isNum(row.kernel) && row.kernel > 0 ? base / row.kernel : null;
    });
  }

  async function onSweepRun() {
    if (state.busy) return;
    let jobs;
    try {
      jobs = sweepJobs();
    } catch (err) {
      showSweepMessage(err.message);
      return;
    }
    rememberChoices(jobs[0]);
    showSweepMessage("");
    state.sweep = {
      cancelled: false,
      rows: jobs.map((j) => ({
        threads: Number(j.params.threads), status: "pending", badgeClass: "idle",
        kernel: null, speedup: null, error: "",
      })),
    };
    renderSweepTable();
    resetCharts();
    setBusy(true, true);
    await runSweep(jobs);
    setBusy(false, true);
  }

  async function runSweep(jobs) {
    const sweep = state.sweep;
    for (let i = 0; i < jobs.length; i += 1) {
      const row = sweep.rows[i];
      if (sweep.cancelled) {
        setSweepRow(row, "cancelled");
        continue;
      }
      const outcome = await runJob(jobs[i], {
        onPhase: (s) => setSweepRow(row, s),
        onStatus: (st) => setSweepRow(row, st.status || "processing"),
        cancelled: () => sweep.cancelled,
      });
      finishSweepRow(row, outcome);
      /* The gateway is gone, or it refuses the file itself: later jobs would fail too. */
      if (outcome.network || outcome.httpStatus === 413 || outcome.httpStatus === 415) {
        showSweepMessage(`Sweep stopped: ${outcome.message}`);
        sweep.cancelled = true;
      }
    }
  }

  function finishSweepRow(row, outcome) {
    if (outcome.status === "completed") {
      const m = (outcome.data.result && outcome.data.result.metadata) || {};
      setSweepRow(row, "completed", { kernel: isNum(m.kernel_time) ? m.kernel_time : null });
    } else if (outcome.status === "cancelled") {
      setSweepRow(row, "cancelled", { error: "stopped while running; the job may still finish" });
    } else {
      setSweepRow(row, "failed", { error: jobErrorText(outcome) });
    }
  }

  function onSweepStop() {
    if (!state.sweep) return;
    state.sweep.cancelled = true;
    el.sweepStop.disabled = true;
  }

  /* ---------- charts ---------- */

  function chartOptions(yTitle, tooltipLabel) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: { duration: 250 },
      parsing: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: {
          type: "linear",
          title: { display: true, text: "threads" },
          ticks: { precision: 0 },
          suggestedMin: 1,
        },
        y: {
          beginAtZero: true,
          title: { display: true, text: yTitle },
        },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 18 } },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? `${items[0].parsed.x} threads` : ""),
            label: tooltipLabel,
          },
        },
      },
    };
  }

  function lineDataset(label, color, extra) {
    return {
      label,
      data: [],
      borderColor: color,
      backgroundColor: color,
      borderWidth: 2,
      pointRadius: 4,
      pointHoverRadius: 6,
      tension: 0,
      clip: false,
      ...(extra || {}),
    };
  }

  function createCharts() {
    if (typeof window.Chart !== "function") {
      el.chartNote.hidden = false;
      return;
    }
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#3d4757";
    const time = new Chart(el.chartTime, {
      type: "line",
      data: { datasets: [lineDataset("kernel time (ms)", "#1f5fbf")] },
      options: chartOptions("ms", (item) => ` ${item.parsed.y.toFixed(2)} ms`),
    });
    const speedup = new Chart(el.chartSpeedup, {
      type: "line",
      data: {
        datasets: [
          lineDataset("measured speedup", "#17723a"),
          lineDataset("ideal", "#8a94a6", {
            backgroundColor: "transparent",
            borderDash: [6, 4],
            pointRadius: 0,
            pointHoverRadius: 0,
            borderWidth: 1.5,
          }),
        ],
      },
      options: chartOptions("speedup (×)", (item) => ` ${item.dataset.label}: ${item.parsed.y.toFixed(2)}×`),
    });
    state.charts = { time, speedup };
    setChartRange(selectedSweepThreads());
    time.update();
    speedup.update();
  }

  /* Fit the x axes to the thread counts being swept (or ticked). */
  function setChartRange(counts) {
    if (!state.charts || !counts.length) return;
    const lo = counts[0];
    const hi = Math.max(counts[counts.length - 1], lo + 1);
    [state.charts.time, state.charts.speedup].forEach((chart) => {
      chart.options.scales.x.min = lo;
      chart.options.scales.x.max = hi;
    });
  }

  function resetCharts() {
    if (!state.charts) return;
    const rows = state.sweep ? state.sweep.rows : [];
    const base = rows.length ? rows[0].threads : 1;
    setChartRange(rows.map((r) => r.threads));
    state.charts.time.data.datasets[0].data = [];
    state.charts.speedup.data.datasets[0].data = [];
    state.charts.speedup.data.datasets[1].data = rows.map((r) => ({ x: r.threads, y: r.threads / base }));
    state.charts.time.update();
    state.charts.speedup.update();
  }

  function updateCharts() {
    if (!state.charts || !state.sweep) return;
    const done = state.sweep.rows.filter((r) => isNum(r.kernel));
    state.charts.time.data.datasets[0].data = done.map((r) => ({ x: r.threads, y: r.kernel * 1000 }));
    state.charts.speedup.data.datasets[0].data = done
      .filter((r) => isNum(r.speedup))
      .map((r) => ({ x: r.threads, y: r.speedup }));
    state.charts.time.update();
    state.charts.speedup.update();
  }

  /* ---------- start-up ---------- */

  function cacheElements() {
    const ids = {
      error: "error", fileInput: "file-input", dropZone: "drop-zone", fileInfo: "file-info",
      limitsHint: "limits-hint", algorithm: "algorithm", algoRetry: "algorithms-retry",
      algoDesc: "algorithm-description", algoQueue: "algorithm-queue", params: "params",
      format: "format", form: "job-form", submit: "submit", status: "status", elapsed: "elapsed",
      requestId: "request-id", originalImg: "original-img", originalPlaceholder: "original-placeholder",
      resultImg: "result-img", resultPlaceholder: "result-placeholder", resultLink: "result-link",
      timings: "timings", sweepThreads: "sweep-threads", sweepRun: "sweep-run", sweepStop: "sweep-stop",
      sweepTable: "sweep-table", sweepMsg: "sweep-msg", chartTime: "chart-time",
      chartSpeedup: "chart-speedup", chartNote: "chart-note", jobPanel: "job-panel",
    };
    Object.entries(ids).forEach(([key, id]) => {
      el[key] = $(id);
    });
  }

  function bindEvents() {
    bindDropZone();
    el.form.addEventListener("submit", onSubmit);
    el.algorithm.addEventListener("change", () => {
      state.prefs.algorithm = el.algorithm.value;
      savePrefs();
      renderAlgorithm();
      updateControls();
    });
    el.format.addEventListener("change", () => {
      state.prefs.format = el.format.value;
      savePrefs();
    });
    el.params.addEventListener("input", (ev) => {
      if (ev.target.matches("input")) ev.target.removeAttribute("aria-invalid");
    });
    el.algoRetry.addEventListener("click", loadAlgorithms);
    el.originalImg.addEventListener("load", onOriginalLoad);
    el.originalImg.addEventListener("error", onOriginalError);
    el.resultImg.addEventListener("load", onResultLoad);
    el.resultImg.addEventListener("error", onResultError);
    el.sweepRun.addEventListener("click", onSweepRun);
    el.sweepStop.addEventListener("click", onSweepStop);
  }

  function init() {
    cacheElements();
    if (state.prefs.format && [...el.format.options].some((o) => o.value === state.prefs.format)) {
      el.format.value = state.prefs.format;
    }
    renderSweepChoices();
    bindEvents();
    createCharts();
    loadAlgorithms();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  return { state, reload: loadAlgorithms };
})();
