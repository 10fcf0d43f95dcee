/// The console's script (served at `/console/console.js`): one `EventSource` on
/// `/console/events`; each `state` event redraws every panel from the snapshot. Data goes into
/// the page as text and SVG attributes, never as markup.
enum ConsoleScript {
    static let source = #"""
        "use strict";
        const SVG = "http://www.w3.org/2000/svg";
        const $ = (id) => document.getElementById(id);

        function rate(bps) {
          if (bps >= 1e9) return (bps / 1e9).toFixed(2) + " Gbit/s";
          if (bps >= 1e6) return (bps / 1e6).toFixed(1) + " Mbit/s";
          if (bps >= 1e3) return (bps / 1e3).toFixed(0) + " kbit/s";
          return bps + " bit/s";
        }
        function bytes(n) {
          if (n >= 1e9) return (n / 1e9).toFixed(2) + " GB";
          if (n >= 1e6) return (n / 1e6).toFixed(1) + " MB";
          if (n >= 1e3) return (n / 1e3).toFixed(0) + " kB";
          return n + " B";
        }
        function age(ms) {
          const s = Math.floor(ms / 1000);
          if (s < 60) return (ms / 1000).toFixed(1) + " s";
          if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
          return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
        }
        function level(fraction) { return fraction >= 0.85 ? "full" : fraction >= 0.5 ? "warn" : "ok"; }
        function colour(fraction) { return { ok: "#2e9d5b", warn: "#d89a1c", full: "#d64545" }[level(fraction)]; }

        function cell(text, className) {
          const td = document.createElement("td");
          td.textContent = text;
          if (className) td.className = className;
          return td;
        }
        function fill(tbodyID, emptyID, items, makeRow) {
          const body = $(tbodyID);
          body.replaceChildren(...items.map(makeRow));
          if (emptyID) $(emptyID).hidden = items.length > 0;
        }
        function row(cells, attributes) {
          const tr = document.createElement("tr");
          for (const [name, value] of Object.entries(attributes || {})) tr.setAttribute(name, value);
          for (const c of cells) tr.append(typeof c === "string" ? cell(c) : c);
          return tr;
        }

        // Engines on top, then each node by its hop distance from the nearest engine; edges last.
        function layout(nodes, links) {
          const depth = new Map();
          const queue = nodes.filter((n) => n.kind === "engine").map((n) => n.name);
          queue.forEach((name) => depth.set(name, 0));
          while (queue.length) {
            const name = queue.shift();
            for (const l of links) {
              if (l.from === name && !depth.has(l.to)) { depth.set(l.to, depth.get(name) + 1); queue.push(l.to); }
            }
          }
          let deepest = 0;
          depth.forEach((d) => { deepest = Math.max(deepest, d); });
          for (const n of nodes) {
            if (n.kind === "edge") depth.set(n.name, Math.max(deepest, depth.get(n.name) || 1));
            else if (!depth.has(n.name)) depth.set(n.name, 1);
          }
          deepest = 0;
          depth.forEach((d) => { deepest = Math.max(deepest, d); });
          const rows = [];
          for (const n of nodes) (rows[depth.get(n.name)] = rows[depth.get(n.name)] || []).push(n);
          const place = new Map();
          const height = Math.max(160, 90 + deepest * 110);
          rows.forEach((members, d) => {
            (members || []).forEach((n, i) => {
              place.set(n.name, { x: (960 * (i + 1)) / (members.length + 1), y: 40 + (deepest ? (d * (height - 80)) / deepest : 0), node: n });
            });
          });
          return { place, height };
        }

        function element(name, attributes, text) {
          const e = document.createElementNS(SVG, name);
          for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
          if (text !== undefined) e.textContent = text;
          return e;
        }

        function drawTopology(state) {
          const svg = $("topology");
          const { place, height } = layout(state.nodes, state.links);
          svg.setAttribute("viewBox", "0 0 960 " + height);
          const engines = new Map(state.engines.map((e) => [e.name, e]));
          const parts = [];
          for (const l of state.links) {
            const a = place.get(l.from), b = place.get(l.to);
            if (!a || !b) continue;
            const used = l.capacityBitsPerSecond > 0 ? l.reservedBitsPerSecond / l.capacityBitsPerSecond : 0;
            // A link and its reverse are drawn side by side.
            const reverse = state.links.some((o) => o.from === l.to && o.to === l.from);
            const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
            const off = reverse ? 5 : 0, ox = (-dy / len) * off, oy = (dx / len) * off;
            const g = element("g", { class: "link", "data-link": l.name });
            g.append(element("line", { x1: a.x + ox, y1: a.y + oy, x2: b.x + ox, y2: b.y + oy, stroke: "#dde2ea", "stroke-width": 10 }));
            if (used > 0) {
              g.append(element("line", {
                x1: a.x + ox, y1: a.y + oy, x2: a.x + ox + dx * Math.min(1, used), y2: a.y + oy + dy * Math.min(1, used),
                stroke: colour(used), "stroke-width": 10,
              }));
            }
            g.append(element("title", {}, l.name + ": " + rate(l.reservedBitsPerSecond) + " reserved of " + rate(l.capacityBitsPerSecond)));
            g.append(element("text", { x: (a.x + b.x) / 2 + ox * 4, y: (a.y + b.y) / 2 + oy * 4 + 4 }, Math.round(used * 100) + "%"));
            parts.push(g);
          }
          for (const { x, y, node } of place.values()) {
            const engine = engines.get(node.name);
            const down = engine && !engine.up;
            const g = element("g", { class: "node " + node.kind + (down ? " down" : ""), "data-node": node.name });
            g.append(element("rect", { x: x - 60, y: y - 20, width: 120, height: 40, rx: 6 }));
            g.append(element("text", { x, y: y - 2 }, node.name));
            const note = engine ? (down ? "down" : engine.draining ? "draining" : engine.streams + " streams") : node.kind;
            g.append(element("text", { x, y: y + 13, class: "kind" }, note));
            parts.push(g);
          }
          svg.replaceChildren(...parts);

          $("links").replaceChildren(...state.links.map((l) => {
            const used = l.capacityBitsPerSecond > 0 ? l.reservedBitsPerSecond / l.capacityBitsPerSecond : 0;
            const div = document.createElement("div");
            div.className = "link-row";
            div.dataset.link = l.name;
            div.dataset.reserved = l.reservedBitsPerSecond;
            div.dataset.capacity = l.capacityBitsPerSecond;
            const name = document.createElement("span");
            name.textContent = l.name;
            const bar = document.createElement("div");
            bar.className = "bar";
            const f = document.createElement("div");
            f.className = "fill " + level(used);
            f.style.width = Math.min(100, used * 100).toFixed(1) + "%";
            bar.append(f);
            const value = document.createElement("span");
            value.className = "value";
            value.textContent = rate(l.reservedBitsPerSecond) + " of " + rate(l.capacityBitsPerSecond) + " (" + Math.round(used * 100) + "%)";
            div.append(name, bar, value);
            return div;
          }));
        }

        function render(state) {
          $("version").textContent = "director " + state.version;
          drawTopology(state);
          fill("engines", null, state.engines, (e) => {
            const s = document.createElement("span");
            const name = !e.up ? "down" : e.draining ? "draining" : "up";
            s.className = "state " + name;
            s.textContent = name;
            const td = document.createElement("td");
            td.append(s);
            return row([e.name, td, e.streams + " / " + e.maxStreams, Math.round(e.load * 100) + "%"], { "data-engine": e.name });
          });
          $("queue-depth").textContent = state.queue.length + " of " + state.queueCapacity;
          fill("queue", "queue-empty", state.queue, (w) =>
            row([w.object, w.client, age(w.ageMilliseconds), cell(w.reason, "reason")], { "data-ticket": String(w.ticket) }));
          $("stream-count").textContent = state.streamCount > state.streams.length
            ? state.streamCount + " (the newest " + state.streams.length + " shown)" : String(state.streamCount);
          fill("streams", "streams-empty", state.streams, (s) =>
            row([
              String(s.id), s.object, s.transport, s.engine, s.links.join(" \u2192 "), rate(s.bitsPerSecond), bytes(s.bytesSent),
              s.fractionLost == null ? "\u2013" : (s.fractionLost * 100).toFixed(1) + "%",
              s.jitterMilliseconds == null ? "\u2013" : s.jitterMilliseconds.toFixed(1) + " ms",
              s.claimed ? age(s.ageMilliseconds) : "waiting for the player",
            ], { "data-stream-id": String(s.id), "data-kind": s.kind }));
          fill("refusals", "refusals-empty", state.refusals, (r) =>
            row([new Date(r.at).toLocaleTimeString(), r.object, r.transport, cell(r.reason, "reason"), cell(r.message, "detail")],
              { "data-reason": r.reason }));
          fill("copies", "copies-empty", state.copies, (c) =>
            row([c.object, c.source, c.target, c.kind, age(c.ageMilliseconds)], { "data-object": c.object }));
          fill("replicas", null, state.replicas, (r) => {
            const watch = document.createElement("a");
            watch.href = "/watch/" + encodeURIComponent(r.object);
            watch.textContent = r.object;
            const td = document.createElement("td");
            td.append(watch);
            return row([td, r.engines.join(", ")], { "data-object": r.object });
          });
          $("usage").textContent = state.usage
            ? state.usage.records + (state.usage.truncated ? "+" : "") + (state.usage.records === 1 ? " usage record" : " usage records") +
              " (plays, uploads, copies), " + bytes(state.usage.bytes) + " moved"
            : "The usage records cannot be read now.";
          document.body.dataset.updated = state.at;
        }

        function connect() {
          const status = $("connection");
          const events = new EventSource("/console/events");
          events.addEventListener("open", () => { status.dataset.state = "live"; status.textContent = "live"; });
          events.addEventListener("state", (e) => render(JSON.parse(e.data)));
          events.addEventListener("logout", () => { events.close(); location.reload(); });
          events.addEventListener("error", () => {
            status.dataset.state = "lost";
            status.textContent = "reconnecting";
            // Refused (logged out, or the director restarted): back to the login form.
            if (events.readyState === EventSource.CLOSED) setTimeout(() => location.reload(), 2000);
          });
        }
        document.addEventListener("DOMContentLoaded", connect);
        """#
}
