/* Per-sample browser. `index.js` lists every sample (id, category, score, extracted answer); the full
   records come in shards loaded on demand through <script> elements, so it works from file:// and
   never holds a whole 12,000-sample run in one page. Shards and the prompt sets beside them carry
   deflate-compressed, base64-encoded JSON lines, inflated here with the browser's DecompressionStream;
   a prompt set is shared by every cell that was sent the same prompts and is aligned with the cell's
   shards. Model output is untrusted: everything is put in the page with textContent, never as HTML.
   Score details are rendered generically, so a new task's details (judge verdicts, test outcomes, ...)
   need no change here. */
(function () {
  "use strict";

  const PAGE_SIZE = 20;
  const LONG_TEXT = 160;
  const browser = document.getElementById("sample-browser");
  const base = browser.getAttribute("data-base");
  const root = browser.getAttribute("data-root");
  const controls = {
    q: document.getElementById("q"),
    category: document.getElementById("category"),
    outcome: document.getElementById("outcome"),
    epoch: document.getElementById("epoch"),
  };
  const results = document.getElementById("results");
  const status = document.getElementById("status");
  const state = {
    index: null, shards: {}, waiting: {}, packed: {}, prefixes: {}, matches: [], page: 0, exactId: null, generation: 0,
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pad(number) {
    return String(number).padStart(4, "0");
  }

  // Runs the script at `src`, which hands its payload to harnessSamples under `slot`.
  function loadScript(src, slot) {
    return new Promise(function (resolve, reject) {
      const script = document.createElement("script");
      script.src = src;
      script.onload = function () {
        if (state.packed[slot] === undefined) {
          reject(new Error(src + " did not register"));
          return;
        }
        const payload = state.packed[slot];
        delete state.packed[slot];
        resolve(payload);
      };
      script.onerror = function () { reject(new Error("cannot load " + src)); };
      document.head.appendChild(script);
    });
  }

  function inflate(packed) {
    const binary = atob(packed);
    const bytes = new Uint8Array(binary.length);
    for (let k = 0; k < binary.length; k += 1) bytes[k] = binary.charCodeAt(k);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Response(stream).text().then(function (text) {
      return text.split("\n").map(function (line) { return JSON.parse(line); });
    });
  }

  function loadShard(number) {
    if (state.shards[number]) return Promise.resolve(state.shards[number]);
    if (!state.waiting[number]) {
      const index = state.index;
      const parts = [loadScript(base + "~" + pad(number) + ".js", "shard " + number).then(inflate)];
      if (index.prompts) {
        const src = root + "data/prompts/" + index.prompts + "~" + pad(number) + ".js";
        parts.push(loadScript(src, "prompts " + number).then(inflate));
      }
      state.waiting[number] = Promise.all(parts).then(function (loaded) {
        const shown = loaded[0];
        const prompts = loaded[1] || [];
        state.shards[number] = shown.map(function (record, k) { return Object.assign({}, prompts[k], record); });
        return state.shards[number];
      });
    }
    return state.waiting[number];
  }

  function loadPrefixes() {
    const id = state.index.prefixes;
    if (!id) return Promise.resolve();
    return loadScript(root + "data/prefixes/" + id + ".js", "prefixes").then(function (prefixes) {
      state.prefixes = prefixes;
    });
  }

  function loadAllShards(progress) {
    const total = state.index.shards;
    let done = 0;
    let chain = Promise.resolve();
    for (let k = 0; k < total; k += 1) {
      chain = chain.then(function () {
        return loadShard(k).then(function () { done += 1; progress(done, total); });
      });
    }
    return chain;
  }

  function recordAt(i) {
    const shard = state.shards[Math.floor(i / state.index.shard_size)];
    return shard ? shard[i % state.index.shard_size] : null;
  }

  function outcomeOf(i) {
    const index = state.index;
    if (index.error[i]) return "error";
    const score = index.score[i];
    if (score === null) return "none";
    if (!index.parsed[i]) return "unparsed";
    if (score >= 1) return "pass";
    if (score <= 0) return "fail";
    return "partial";
  }

  function matchesOutcome(i, wanted) {
    if (!wanted) return true;
    const outcome = outcomeOf(i);
    if (wanted === "fail") return outcome === "fail" || (outcome === "unparsed" && state.index.score[i] <= 0);
    return outcome === wanted;
  }

  function textOf(record) {
    const parts = [record.c || "", record.r || ""];
    (record.m || []).forEach(function (message) { parts.push(message[1]); });
    return parts.join("\n").toLowerCase();
  }

  function filter(query) {
    const index = state.index;
    const category = controls.category.value;
    const outcome = controls.outcome.value;
    const epoch = controls.epoch.value;
    const matches = [];
    for (let i = 0; i < index.id.length; i += 1) {
      if (state.exactId !== null && index.id[i] !== state.exactId) continue;
      if (category !== "" && String(index.cat[i]) !== category) continue;
      if (epoch !== "" && String(index.epoch[i]) !== epoch) continue;
      if (!matchesOutcome(i, outcome)) continue;
      if (query) {
        const cheap = [index.id[i], index.extracted[i] || "", index.target[i] || ""].join("\n").toLowerCase();
        if (cheap.indexOf(query) === -1) {
          const record = index.publish ? recordAt(i) : null;
          if (!record || textOf(record).indexOf(query) === -1) continue;
        }
      }
      matches.push(i);
    }
    return matches;
  }

  function writeHash() {
    const params = new URLSearchParams();
    if (state.exactId !== null) params.set("id", state.exactId);
    if (controls.q.value) params.set("q", controls.q.value);
    if (controls.category.value) params.set("category", controls.category.value);
    if (controls.outcome.value) params.set("outcome", controls.outcome.value);
    if (controls.epoch.value) params.set("epoch", controls.epoch.value);
    if (state.page) params.set("page", String(state.page + 1));
    const hash = params.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    state.exactId = params.has("id") ? params.get("id") : null;
    controls.q.value = params.get("q") || "";
    controls.category.value = params.get("category") || "";
    controls.outcome.value = params.get("outcome") || "";
    controls.epoch.value = params.get("epoch") || "";
    state.page = Math.max(0, parseInt(params.get("page") || "1", 10) - 1) || 0;
  }

  function update(resetPage) {
    const generation = ++state.generation;
    if (resetPage) state.page = 0;
    const query = controls.q.value.trim().toLowerCase();
    let ready = Promise.resolve();
    if (query && state.index.publish && state.index.shards) {
      ready = loadAllShards(function (done, total) {
        if (generation === state.generation) status.textContent = "searching: loaded " + done + " of " + total + " parts";
      });
    }
    return ready.then(function () {
      if (generation !== state.generation) return null;
      state.matches = filter(query);
      const pages = Math.max(1, Math.ceil(state.matches.length / PAGE_SIZE));
      state.page = Math.min(state.page, pages - 1);
      writeHash();
      return renderPage(generation);
    }).catch(function (error) {
      status.textContent = "could not load samples: " + error.message;
    });
  }

  function renderPage(generation) {
    const start = state.page * PAGE_SIZE;
    const shown = state.matches.slice(start, start + PAGE_SIZE);
    const needed = state.index.publish
      ? Array.from(new Set(shown.map(function (i) { return Math.floor(i / state.index.shard_size); })))
      : [];
    return Promise.all(needed.map(loadShard)).then(function () {
      if (generation !== state.generation) return;
      results.replaceChildren();
      shown.forEach(function (i) { results.appendChild(renderSample(i)); });
      const pages = Math.max(1, Math.ceil(state.matches.length / PAGE_SIZE));
      status.textContent = state.matches.length + " of " + state.index.id.length + " samples · page " + (state.page + 1) + " of " + pages;
      document.getElementById("prev").disabled = state.page === 0;
      document.getElementById("next").disabled = state.page >= pages - 1;
      if (!shown.length) results.appendChild(el("p", "muted", "No sample matches these filters."));
      document.body.setAttribute("data-ready", "1");
    });
  }

  function block(title, content, open) {
    const details = el("details", "block");
    if (open) details.open = true;
    details.appendChild(el("summary", null, title));
    details.appendChild(content);
    return details;
  }

  function pre(text, className) {
    return el("pre", className || "text", text);
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function renderValue(value, depth) {
    if (depth > 6) return pre(JSON.stringify(value, null, 1));
    if (value === null || value === undefined) return el("span", "muted", "–");
    if (typeof value === "boolean") return el("span", value ? "pass" : "fail", value ? "true" : "false");
    if (typeof value === "number") return el("span", "num", String(value));
    if (typeof value === "string") {
      return value.length > LONG_TEXT || value.indexOf("\n") !== -1 ? pre(value) : el("span", null, value);
    }
    if (Array.isArray(value)) {
      if (!value.length) return el("span", "muted", "(none)");
      if (value.every(isPlainObject)) return renderTable(value, depth);
      if (value.every(function (v) { return v === null || typeof v !== "object"; })) {
        const short = value.every(function (v) { return String(v).length <= LONG_TEXT; });
        if (short) return el("span", null, value.map(String).join(", "));
      }
      const list = el("ol", "values");
      value.forEach(function (item) {
        const li = el("li");
        li.appendChild(renderValue(item, depth + 1));
        list.appendChild(li);
      });
      return list;
    }
    const table = el("table", "details");
    Object.keys(value).forEach(function (key) {
      const row = el("tr");
      row.appendChild(el("th", null, key));
      const cell = el("td");
      cell.appendChild(renderValue(value[key], depth + 1));
      row.appendChild(cell);
      table.appendChild(row);
    });
    return table;
  }

  function renderTable(rows, depth) {
    const keys = [];
    rows.forEach(function (row) { Object.keys(row).forEach(function (k) { if (keys.indexOf(k) === -1) keys.push(k); }); });
    const table = el("table", "details rows");
    const head = el("tr");
    head.appendChild(el("th", null, "#"));
    keys.forEach(function (key) { head.appendChild(el("th", null, key)); });
    table.appendChild(head);
    rows.forEach(function (row, number) {
      const tr = el("tr");
      tr.appendChild(el("td", "num", String(number + 1)));
      keys.forEach(function (key) {
        const td = el("td");
        td.appendChild(renderValue(row[key], depth + 1));
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    return table;
  }

  function scoreClass(i) {
    const outcome = outcomeOf(i);
    return { pass: "pass", fail: "fail", partial: "partial", unparsed: "fail", error: "fail", none: "muted" }[outcome];
  }

  function renderSample(i) {
    const index = state.index;
    const article = el("article", "sample");
    article.setAttribute("data-sample", index.id[i]);
    const header = el("header");
    header.appendChild(el("strong", "sample-id", index.id[i]));
    if (index.epochs > 1) header.appendChild(el("span", "muted", " · epoch " + index.epoch[i]));
    if (index.cat[i] >= 0) header.appendChild(el("span", "tag", index.categories[index.cat[i]]));
    const score = index.score[i];
    header.appendChild(el("span", "score-badge " + scoreClass(i), score === null ? "not scored" : "score " + score));
    const answer = el("span", "answer");
    answer.appendChild(el("span", "muted", "extracted "));
    answer.appendChild(el("code", null, index.extracted[i] === null ? "none" : index.extracted[i]));
    answer.appendChild(el("span", "muted", " · target "));
    answer.appendChild(el("code", null, index.target[i]));
    header.appendChild(answer);
    article.appendChild(header);
    if (!index.publish) return article;
    const record = recordAt(i);
    if (!record) {
      article.appendChild(el("p", "muted", "loading…"));
      return article;
    }
    article.appendChild(block("Prompt", renderPrompt(record), false));
    if (record.r) article.appendChild(block("Reasoning (" + record.r.length.toLocaleString() + " characters)", pre(record.r), false));
    if (record.e) article.appendChild(block("Error", pre(record.e, "text error"), true));
    const completion = el("div", "completion");
    completion.appendChild(el("h4", null, "Completion"));
    completion.appendChild(pre(record.c));
    article.appendChild(completion);
    const facts = [];
    if (record.f) facts.push("finish: " + record.f);
    if (record.u) facts.push("tokens in " + record.u[0] + " · out " + record.u[1] + (record.u[3] ? " (reasoning " + record.u[3] + ")" : ""));
    if (record.l) facts.push("latency " + record.l + " s");
    if (record.mo) facts.push("model " + record.mo);
    if (facts.length) article.appendChild(el("p", "facts-line muted", facts.join(" · ")));
    if (record.d) article.appendChild(block("Score details", renderValue(record.d, 0), true));
    if (record.md) article.appendChild(block("Sample metadata", renderValue(record.md, 0), false));
    return article;
  }

  function renderPrompt(record) {
    const box = el("div", "prompt");
    const messages = record.m || [];
    let lastUser = -1;
    messages.forEach(function (message, n) { if (message[0] === "user") lastUser = n; });
    messages.forEach(function (message, n) {
      const part = el("div", "message");
      part.appendChild(el("div", "role", message[0]));
      if (n === lastUser && record.pk && state.prefixes[record.pk] !== undefined) {
        part.appendChild(block("shared prefix: " + record.pk + " (few-shot exemplars, the same for every sample that uses it)", pre(state.prefixes[record.pk]), false));
      }
      part.appendChild(pre(message[1]));
      box.appendChild(part);
    });
    if (record.ch) box.appendChild(el("p", "muted", "choices: " + record.ch.join(" | ")));
    return box;
  }

  function init(index) {
    state.index = index;
    index.categories.forEach(function (name, number) {
      const option = el("option", null, name);
      option.value = String(number);
      controls.category.appendChild(option);
    });
    if (index.epochs > 1) {
      document.getElementById("epoch-label").hidden = false;
      for (let e = 0; e < index.epochs; e += 1) {
        const option = el("option", null, String(e));
        option.value = String(e);
        controls.epoch.appendChild(option);
      }
    }
    readHash();
    let timer = null;
    controls.q.addEventListener("input", function () {
      state.exactId = null;
      clearTimeout(timer);
      timer = setTimeout(function () { update(true); }, 250);
    });
    [controls.category, controls.outcome, controls.epoch].forEach(function (control) {
      control.addEventListener("change", function () { update(true); });
    });
    document.getElementById("prev").addEventListener("click", function () {
      if (state.page > 0) { state.page -= 1; update(false); }
    });
    document.getElementById("next").addEventListener("click", function () { state.page += 1; update(false); });
    window.addEventListener("hashchange", function () { readHash(); update(false); });
    loadPrefixes().then(function () { return update(false); }, function (error) {
      status.textContent = "could not load samples: " + error.message;
    });
  }

  window.harnessSamples = {
    load: init,
    shard: function (key, number, packed) {
      if (state.index && key === state.index.key) state.packed["shard " + number] = packed;
    },
    prompts: function (id, number, packed) {
      if (state.index && id === state.index.prompts) state.packed["prompts " + number] = packed;
    },
    prefixes: function (id, prefixes) {
      if (state.index && id === state.index.prefixes) state.packed.prefixes = prefixes;
    },
    state: state,
  };
})();
