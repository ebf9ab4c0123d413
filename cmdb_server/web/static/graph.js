/* The graph page (cmdb_server/web/graph.py, templates/graph.html).
 *
 * Draws a CI's neighbourhood with Cytoscape.js, in the rows schema/ci_classes.toml declares
 * for each class (`layer`: business services on top, the network at the bottom). dagre
 * places the CIs: it is given the rows as ranks and each edge pointed from the upper row to
 * the lower, whatever way the relationship points (a switch's HAS_INTERFACE edge points up
 * at its own interface), which cytoscape-dagre cannot do.
 *
 * Data comes from the page's JSON endpoints (the same services as the API): the
 * neighbourhood, and the impact of this CI going down with the path explaining each CI.
 * Down and degraded are told by colour, border style and a word in the label alike.
 * Sets document.body.dataset.layoutMs (ms from navigation start to the first drawing) and
 * layouts (how many drawings so far) for the tests and bench/web_graph_layout.py;
 * window.cmdbGraph is the Cytoscape instance.
 */
(function () {
  "use strict";

  const MAX_SHOWN = 1000; // CIs drawn at most; expanding beyond asks to narrow the filters
  const ROW_OF_UNKNOWN = 3;
  const FILL = ["#dbe7fb", "#dcf1e3", "#ece3f7", "#eef1f5", "#f7f8fa", "#e1eef0"];
  const STATE_WORD = { down: "DOWN", degraded: "DEGRADED" };

  const data = JSON.parse(document.getElementById("graph-data").textContent);
  const statusLine = document.getElementById("graph-status");
  const nodeList = document.getElementById("node-list");
  const expanded = new Set();
  let leftOut = 0;
  let impact = null; // {byUid: Map uid -> item, items, summary}
  let layouts = 0;
  let cy = null;

  function $(id) {
    return document.getElementById(id);
  }

  function say(text) {
    statusLine.textContent = text;
  }

  function short(text, length) {
    return text.length > length ? text.slice(0, length - 1) + "\u2026" : text;
  }

  function plural(count, noun) {
    return `${count} ${noun}${count === 1 ? "" : "s"}`;
  }

  function checked(fieldset) {
    return Array.from(document.querySelectorAll(`#${fieldset} input:checked`)).map((i) => i.value);
  }

  function allChecked(fieldset) {
    return document.querySelectorAll(`#${fieldset} input:not(:checked)`).length === 0;
  }

  async function fetchJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!(response.headers.get("content-type") || "").includes("application/json")) {
      throw new Error("the sign-in has ended: reload the page to sign in again");
    }
    const body = await response.json();
    if (!response.ok) {
      const error = body.error || {};
      const field = error.fields && error.fields[0] ? ` (field '${error.fields[0].field}')` : "";
      throw new Error((error.message || `the server answered ${response.status}`) + field);
    }
    return body;
  }

  function graphUrl(uid, depth) {
    const query = new URLSearchParams({ depth: String(depth) });
    if (!allChecked("type-filter")) checked("type-filter").forEach((t) => query.append("types", t));
    if (!allChecked("class-filter")) checked("class-filter").forEach((c) => query.append("classes", c));
    return `/ci/${encodeURIComponent(uid)}/graph.json?${query}`;
  }

  // --- elements ------------------------------------------------------------------------

  function label(d) {
    const word = STATE_WORD[d.state] ? `\n${STATE_WORD[d.state]}` : "";
    return `${short(d.name || d.uid, 28)}\n${d.class}${word}`;
  }

  function nodeData(ci) {
    const name = ci.name || ci.uid;
    const width = Math.min(Math.max(Math.max(Math.min(name.length, 28), ci.class.length, 9) * 6.4 + 18, 70), 200);
    const d = { id: ci.uid, uid: ci.uid, name: name, class: ci.class, layer: ci.layer, w: width, h: 40, state: null };
    d.label = label(d);
    return d;
  }

  function ensureNode(ci) {
    const existing = cy.getElementById(ci.uid);
    if (existing.nonempty()) return existing;
    const node = cy.add({ group: "nodes", data: nodeData(ci) });
    if (ci.uid === data.uid) node.addClass("root");
    return node;
  }

  function edgeId(source, type, target) {
    return `${source}>${type}>${target}`;
  }

  function findEdge(a, type, b) {
    const one = cy.getElementById(edgeId(a, type, b));
    return one.nonempty() ? one : cy.getElementById(edgeId(b, type, a));
  }

  function ensureEdge(source, type, target) {
    const existing = findEdge(source, type, target);
    if (existing.nonempty()) return existing;
    return cy.add({ group: "edges", data: { id: edgeId(source, type, target), source, target, type } });
  }

  function addGraph(graph) {
    cy.batch(() => {
      graph.nodes.forEach(ensureNode);
      graph.edges.forEach((e) => {
        if (cy.getElementById(e.source).nonempty() && cy.getElementById(e.target).nonempty()) {
          ensureEdge(e.source, e.type, e.target);
        }
      });
    });
  }

  function setState(node, state) {
    node.removeClass("down degraded");
    if (state) node.addClass(state);
    node.data("state", state);
    node.data("label", label(node.data()));
  }

  // --- filters -------------------------------------------------------------------------

  function applyFilters() {
    const types = new Set(checked("type-filter"));
    const classes = new Set(checked("class-filter"));
    cy.batch(() => {
      cy.nodes().forEach((n) => {
        const shown = n.id() === data.uid || classes.has(n.data("class"));
        n.toggleClass("filtered", !shown);
      });
      // An edge shows when its type is chosen and both its ends show.
      cy.edges().forEach((e) =>
        e.toggleClass(
          "filtered",
          !types.has(e.data("type")) || e.source().hasClass("filtered") || e.target().hasClass("filtered"),
        ),
      );
    });
  }

  // --- layout --------------------------------------------------------------------------

  function layout() {
    const started = performance.now();
    const nodes = cy.nodes().not(".filtered");
    const rows = Array.from(new Set(nodes.map((n) => n.data("layer") ?? ROW_OF_UNKNOWN))).sort((a, b) => a - b);
    const rowOf = (n) => rows.indexOf(n.data("layer") ?? ROW_OF_UNKNOWN);
    const g = new dagre.graphlib.Graph();
    g.setGraph({ nodesep: 18, ranksep: 70, marginx: 10, marginy: 10 });
    g.setDefaultEdgeLabel(() => ({}));
    // Ranks are the rows, two apart (dagre keeps a rank between two for edge labels); dagre
    // copies a node's width, height and rank only.
    nodes.forEach((n) => g.setNode(n.id(), { width: n.data("w"), height: n.data("h"), rank: 2 * rowOf(n) }));
    cy.edges()
      .not(".filtered")
      .forEach((e) => {
        const s = e.source();
        const t = e.target();
        if (!g.hasNode(s.id()) || !g.hasNode(t.id())) return;
        const [rs, rt] = [rowOf(s), rowOf(t)];
        if (rs < rt) g.setEdge(s.id(), t.id());
        else if (rs > rt) g.setEdge(t.id(), s.id());
      });
    g.graph().ranker = (ranked) =>
      ranked.nodes().forEach((v) => {
        const node = ranked.node(v);
        if (node.rank === undefined) node.rank = -2; // dagre's own root of the nesting graph
      });
    dagre.layout(g);
    const positions = wrapRows(g, nodes.map((n) => n.id()));
    nodes
      .layout({
        name: "preset",
        positions: (n) => positions[n.id()],
        fit: true,
        padding: 24,
        stop: () => {
          cy.fit(cy.elements().not(".filtered"), 24); // after a filter too, not only the first time
          layouts += 1;
          document.body.dataset.layoutOnlyMs = String(Math.round(performance.now() - started));
          if (!document.body.dataset.layoutMs) document.body.dataset.layoutMs = String(Math.round(performance.now()));
          document.body.dataset.layouts = String(layouts);
        },
      })
      .run();
  }

  /* dagre's rows, wrapped: a row of 236 interfaces side by side would make the drawing forty
   * times wider than high and every label a dot. A row wider than about sqrt(n) CIs is cut,
   * in dagre's order (so a host's interfaces stay together), into sub-rows centred under the
   * row above; the rows keep their order from top to bottom. */
  function wrapRows(g, ids) {
    const SEP = 18;
    const SUB_ROW_GAP = 14;
    const ROW_GAP = 70;
    const perRow = Math.max(10, Math.ceil(Math.sqrt(ids.length) * 1.2));
    const byY = new Map();
    ids.forEach((id) => {
      const p = g.node(id);
      if (!byY.has(p.y)) byY.set(p.y, []);
      byY.get(p.y).push(id);
    });
    const rows = Array.from(byY.keys())
      .sort((a, b) => a - b)
      .map((y) => byY.get(y).sort((a, b) => g.node(a).x - g.node(b).x));
    const width = (row) => row.reduce((sum, id) => sum + g.node(id).width + SEP, -SEP);
    const widest = Math.max(...rows.map((row) => (row.length > perRow ? width(row.slice(0, perRow)) : 0)), 0);
    if (!widest) {
      const positions = {};
      ids.forEach((id) => (positions[id] = { x: g.node(id).x, y: g.node(id).y }));
      return positions;
    }
    const positions = {};
    let top = 0;
    rows.forEach((row) => {
      const spread = g.node(row[row.length - 1]).x - g.node(row[0]).x;
      const chunks = [];
      if (row.length <= perRow && spread <= widest) chunks.push(null); // dagre's own x are fine
      else for (let i = 0; i < row.length; i += perRow) chunks.push(row.slice(i, i + perRow));
      const height = Math.max(...row.map((id) => g.node(id).height));
      chunks.forEach((chunk, index) => {
        const y = top + index * (height + SUB_ROW_GAP) + height / 2;
        if (chunk === null) {
          const shift = (g.node(row[0]).x + g.node(row[row.length - 1]).x) / 2;
          row.forEach((id) => (positions[id] = { x: g.node(id).x - shift, y }));
          return;
        }
        let x = -width(chunk) / 2;
        chunk.forEach((id) => {
          const w = g.node(id).width;
          positions[id] = { x: x + w / 2, y };
          x += w + SEP;
        });
      });
      top += chunks.length * (height + SUB_ROW_GAP) - SUB_ROW_GAP + ROW_GAP;
    });
    return positions;
  }

  // --- the list of CIs (for keyboards and screen readers) ------------------------------

  function renderNodeList() {
    const nodes = cy
      .nodes()
      .not(".filtered")
      .sort((a, b) => (a.data("layer") ?? 9) - (b.data("layer") ?? 9) || a.data("name").localeCompare(b.data("name")));
    const items = nodes.map((n) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.uid = n.id();
      button.textContent = n.data("name");
      button.setAttribute("aria-label", `Expand ${n.data("name")} (${n.data("class")})`);
      if (expanded.has(n.id())) button.classList.add("expanded");
      const what = document.createElement("span");
      what.className = "count";
      what.textContent = ` ${n.data("class")} `;
      li.append(button, what);
      if (n.data("state")) {
        const word = document.createElement("span");
        word.className = `state-${n.data("state")}`;
        word.textContent = STATE_WORD[n.data("state")];
        li.append(word, " ");
      }
      const link = document.createElement("a");
      link.href = `/ci/${encodeURIComponent(n.id())}`;
      link.textContent = "page";
      link.setAttribute("aria-label", `CI page of ${n.data("name")}`);
      li.append(link);
      return li;
    });
    nodeList.replaceChildren(...items);
  }

  function describe() {
    const shown = cy.nodes().not(".filtered").length;
    const edges = cy.edges().not(".filtered").length;
    const cut = leftOut ? `; ${leftOut} more within reach were left out (at most ${data.limit} a request)` : "";
    say(`${plural(shown, "CI")} and ${plural(edges, "relationship")} shown${cut}.`);
  }

  function redraw() {
    applyFilters();
    layout();
    renderNodeList();
    describe();
  }

  // --- expanding -----------------------------------------------------------------------

  async function expand(uid) {
    if (expanded.has(uid)) {
      say(`${cy.getElementById(uid).data("name")} is expanded already.`);
      return;
    }
    if (cy.nodes().length >= MAX_SHOWN) {
      say(`${MAX_SHOWN} CIs are drawn already: narrow the filters, or open another CI's graph.`);
      return;
    }
    say("Loading…");
    try {
      const graph = await fetchJson(graphUrl(uid, 1));
      expanded.add(uid);
      leftOut += graph.left_out;
      addGraph(graph);
      if (impact) paintImpact();
      redraw();
    } catch (error) {
      say(`Could not expand: ${error.message}`);
    }
  }

  // --- impact overlay ------------------------------------------------------------------

  function paintImpact() {
    cy.batch(() => {
      cy.nodes().forEach((n) => {
        const item = impact.byUid.get(n.id());
        setState(n, n.id() === data.uid ? "down" : item ? item.state : null);
      });
    });
  }

  function stepName(step) {
    return step.name || step.uid;
  }

  function stateOf(uid) {
    const item = impact.byUid.get(uid);
    return item ? item.state : "affected";
  }

  function renderImpactList() {
    const services = impact.items.filter((i) => i.class === "BusinessService");
    const others = impact.items.filter((i) => i.class !== "BusinessService");
    const items = [...services, ...others].map((item) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.uid = item.uid;
      button.textContent = item.name || item.uid;
      const what = document.createElement("span");
      what.className = "count";
      what.textContent = ` ${item.class} `;
      const word = document.createElement("span");
      word.className = `state-${item.state}`;
      word.textContent = STATE_WORD[item.state];
      li.append(button, what, word);
      return li;
    });
    $("impact-list").replaceChildren(...items);
    const states = impact.by_state;
    const cut = impact.left_out ? `; the ${impact.left_out} furthest are not listed` : "";
    $("impact-summary").textContent =
      `${plural(impact.total, "CI")} affected: ${states.down || 0} down, ${states.degraded || 0} degraded; ` +
      `${plural(services.length, "business service")}${cut}. Choose one to see why.`;
  }

  async function showImpact() {
    say("Working out the impact…");
    try {
      const result = await fetchJson(`/ci/${encodeURIComponent(data.uid)}/impact.json`);
      impact = { ...result, byUid: new Map(result.items.map((i) => [i.uid, i])) };
      cy.batch(() => {
        result.items.forEach((item) => {
          item.path.forEach((step, index) => {
            ensureNode(step);
            if (index === 0) return;
            const previous = item.path[index - 1].uid;
            if (step.direction === "in") ensureEdge(step.uid, step.via, previous);
            else ensureEdge(previous, step.via, step.uid);
          });
        });
      });
      paintImpact();
      $("impact-panel").hidden = false;
      $("impact-clear").disabled = false;
      renderImpactList();
      redraw();
    } catch (error) {
      say(`Could not work out the impact: ${error.message}`);
    }
  }

  function clearImpact() {
    impact = null;
    cy.batch(() => {
      cy.nodes().forEach((n) => setState(n, null));
      cy.elements().removeClass("path faded");
    });
    $("impact-panel").hidden = true;
    $("impact-clear").disabled = true;
    $("impact-path").replaceChildren();
    renderNodeList();
  }

  function showPath(uid) {
    const item = impact.byUid.get(uid);
    if (!item) return;
    cy.batch(() => {
      cy.elements().removeClass("path").addClass("faded");
      item.path.forEach((step, index) => {
        cy.getElementById(step.uid).removeClass("faded").addClass("path");
        if (index > 0) findEdge(item.path[index - 1].uid, step.via, step.uid).removeClass("faded").addClass("path");
      });
    });
    const heading = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = `Why ${item.name || item.uid} is ${STATE_WORD[item.state]}:`;
    heading.append(strong);
    const steps = item.path.map((step, index) => {
      const li = document.createElement("li");
      if (index === 0) {
        li.textContent = `${stepName(step)} (${step.class}) goes down.`;
        return li;
      }
      const previous = stepName(item.path[index - 1]);
      const relation =
        step.direction === "in" ? `${stepName(step)} ${step.via} ${previous}` : `${previous} ${step.via} ${stepName(step)}`;
      const state = stateOf(step.uid);
      li.append(`${relation}, so ${stepName(step)} (${step.class}) is `);
      const word = document.createElement("span");
      word.className = `state-${state}`;
      word.textContent = STATE_WORD[state] || state;
      li.append(word, ".");
      return li;
    });
    const list = document.createElement("ol");
    list.className = "path-steps";
    list.append(...steps);
    $("impact-path").replaceChildren(heading, list);
    document.querySelectorAll("#impact-list button").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.uid === uid));
    });
  }

  // --- export --------------------------------------------------------------------------

  function fileName(extension) {
    const slug = (data.name || data.uid).replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "ci";
    return `${slug}-graph.${extension}`;
  }

  function download(blob, name) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  function exportPng() {
    download(cy.png({ output: "blob", full: true, scale: 2, bg: "#ffffff" }), fileName("png"));
  }

  function xml(text) {
    return String(text).replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]);
  }

  /* The drawing as SVG, from what Cytoscape computed (positions, edge ends, styles): our own
   * few lines rather than cytoscape-svg, which is GPL-3.0. */
  function svgOf() {
    const shown = cy.elements().not(".filtered");
    const box = shown.boundingBox();
    const pad = 16;
    const parts = [];
    shown.edges().forEach((e) => {
      const s = e.sourceEndpoint();
      const t = e.targetEndpoint();
      const control = (e.controlPoints() || [])[0];
      const colour = e.style("line-color");
      const width = parseFloat(e.style("width"));
      const opacity = e.style("opacity");
      const d = control ? `M${s.x},${s.y} Q${control.x},${control.y} ${t.x},${t.y}` : `M${s.x},${s.y} L${t.x},${t.y}`;
      const from = control || s;
      const length = Math.hypot(t.x - from.x, t.y - from.y) || 1;
      const [ux, uy] = [(t.x - from.x) / length, (t.y - from.y) / length];
      const size = 4 + width * 2;
      const head = [
        [t.x, t.y],
        [t.x - ux * size - uy * size * 0.5, t.y - uy * size + ux * size * 0.5],
        [t.x - ux * size + uy * size * 0.5, t.y - uy * size - ux * size * 0.5],
      ];
      parts.push(
        `<g opacity="${opacity}"><title>${xml(e.data("type"))}</title>` +
          `<path d="${d}" fill="none" stroke="${colour}" stroke-width="${width}"/>` +
          `<polygon points="${head.map((p) => p.join(",")).join(" ")}" fill="${colour}"/></g>`,
      );
    });
    shown.nodes().forEach((n) => {
      const p = n.position();
      const [w, h] = [n.width(), n.height()];
      const border = parseFloat(n.style("border-width"));
      const style = n.style("border-style");
      const dash = style === "dashed" ? ` stroke-dasharray="6 3"` : "";
      const lines = n.data("label").split("\n");
      const size = parseFloat(n.style("font-size"));
      const top = p.y - ((lines.length - 1) * size * 1.2) / 2;
      const text = lines
        .map((line, i) => `<tspan x="${p.x}" y="${top + i * size * 1.2}"${i === 2 ? ' font-weight="bold"' : ""}>${xml(line)}</tspan>`)
        .join("");
      const rect = (inset, width) =>
        `<rect x="${p.x - w / 2 + inset}" y="${p.y - h / 2 + inset}" width="${w - 2 * inset}" height="${h - 2 * inset}" rx="5" ` +
        `fill="none" stroke="${n.style("border-color")}" stroke-width="${width}"${dash}/>`;
      const outline = style === "double" ? rect(0, border / 3) + rect((border * 2) / 3, border / 3) : rect(0, border);
      parts.push(
        `<g opacity="${n.style("opacity")}"><title>${xml(`${n.data("name")} (${n.data("class")})`)}</title>` +
          `<rect x="${p.x - w / 2}" y="${p.y - h / 2}" width="${w}" height="${h}" rx="5" fill="${n.style("background-color")}"/>` +
          outline +
          `<text text-anchor="middle" dominant-baseline="middle" font-family="system-ui, sans-serif" font-size="${size}" ` +
          `fill="${n.style("color")}">${text}</text></g>`,
      );
    });
    const [x, y, w, h] = [box.x1 - pad, box.y1 - pad, box.w + 2 * pad, box.h + 2 * pad];
    return (
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${x} ${y} ${w} ${h}" width="${w}" height="${h}">` +
      `<title>${xml(`Graph of ${data.name} (${data.class})`)}</title>` +
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="#ffffff"/>${parts.join("")}</svg>\n`
    );
  }

  function exportSvg() {
    download(new Blob([svgOf()], { type: "image/svg+xml" }), fileName("svg"));
  }

  // --- start ---------------------------------------------------------------------------

  function style() {
    const fill = (n) => FILL[Math.min(n.data("layer") ?? ROW_OF_UNKNOWN, FILL.length - 1)];
    return [
      {
        selector: "node",
        style: {
          shape: "round-rectangle",
          width: "data(w)",
          height: "data(h)",
          "background-color": fill,
          "border-width": 1,
          "border-color": "#7a8699",
          label: "data(label)",
          "text-wrap": "wrap",
          "text-max-width": "data(w)",
          "text-valign": "center",
          "text-halign": "center",
          "font-size": 10,
          color: "#1d2430",
          "min-zoomed-font-size": 5,
        },
      },
      { selector: "node.root", style: { "border-width": 6, "border-style": "double", "border-color": "#1d2430" } },
      { selector: "node.down", style: { "background-color": "#f6c9c5", "border-color": "#b3261e", "border-width": 4, height: 50 } },
      { selector: "node.root.down", style: { "border-width": 7, "border-style": "double" } },
      {
        selector: "node.degraded",
        style: { "background-color": "#ffdf99", "border-color": "#8a5a00", "border-width": 3, "border-style": "dashed", height: 50 },
      },
      {
        selector: "edge",
        style: {
          width: 1.5,
          "line-color": "#9aa4b2",
          "target-arrow-color": "#9aa4b2",
          "target-arrow-shape": "triangle",
          "arrow-scale": 0.8,
          "curve-style": "bezier",
          label: "data(type)",
          "font-size": 8,
          color: "#5b6575",
          "text-rotation": "autorotate",
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.8,
          "min-zoomed-font-size": 8,
        },
      },
      { selector: ".faded", style: { opacity: 0.15 } },
      {
        selector: "node.path",
        style: { "underlay-color": "#1f5fbf", "underlay-padding": 7, "underlay-opacity": 0.45, "underlay-shape": "round-rectangle" },
      },
      {
        selector: "edge.path",
        style: { width: 4, "line-color": "#1f5fbf", "target-arrow-color": "#1f5fbf", "z-index": 10, "font-size": 10, "font-weight": "bold" },
      },
      { selector: ".filtered", style: { display: "none" } },
    ];
  }

  async function start() {
    cy = cytoscape({
      container: $("cy"),
      style: style(),
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
      hideEdgesOnViewport: true, // panning a few hundred CIs stays fluid
    });
    window.cmdbGraph = cy; // for the browser tests and the console
    cy.on("tap", "node", (event) => {
      const uid = event.target.id();
      if (impact && impact.byUid.has(uid)) showPath(uid);
      else expand(uid);
    });
    cy.on("dbltap", "node", (event) => expand(event.target.id()));
    nodeList.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-uid]");
      if (button) expand(button.dataset.uid);
    });
    $("impact-list").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-uid]");
      if (button) showPath(button.dataset.uid);
    });
    $("impact-down").addEventListener("click", showImpact);
    $("impact-clear").addEventListener("click", clearImpact);
    $("fit").addEventListener("click", () => cy.fit(cy.elements().not(".filtered"), 24));
    let resizing = null; // a narrower window: the drawing is fitted to its new box
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => {
        cy.resize();
        cy.fit(cy.elements().not(".filtered"), 24);
      }, 150);
    });
    $("export-png").addEventListener("click", exportPng);
    $("export-svg").addEventListener("click", exportSvg);
    document.querySelectorAll("#type-filter input, #class-filter input").forEach((box) => box.addEventListener("change", redraw));
    try {
      const graph = await fetchJson(graphUrl(data.uid, data.depth));
      expanded.add(data.uid);
      leftOut = graph.left_out;
      addGraph(graph);
      redraw();
    } catch (error) {
      say(`Could not load the graph: ${error.message}`);
    }
  }

  window.addEventListener("DOMContentLoaded", start);
})();
