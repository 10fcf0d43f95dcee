/// The console's style sheet (served at `/console/console.css`).
enum ConsoleStyle {
    static let source = """
        :root { --ok: #2e9d5b; --warn: #d89a1c; --full: #d64545; --ink: #1d2330; --muted: #6b7280; --line: #e3e6ec; --bg: #f6f7f9; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
        header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #14202e; color: #fff; }
        header h1 { font-size: 18px; margin: 0; letter-spacing: .04em; }
        header form { margin-left: auto; }
        header button { background: transparent; color: #fff; border: 1px solid #5b6b80; border-radius: 4px; padding: 4px 10px; cursor: pointer; }
        #version { color: #aab4c3; }
        .connection { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #5b6b80; }
        .connection[data-state="live"] { background: var(--ok); }
        .connection[data-state="lost"] { background: var(--full); }
        main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; padding: 16px 20px; }
        section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; min-width: 0; }
        section.wide { grid-column: 1 / -1; }
        h2 { font-size: 15px; margin: 0 0 8px; }
        h2 small { color: var(--muted); font-weight: normal; margin-left: 6px; }
        table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
        th { color: var(--muted); font-weight: 600; font-size: 12px; }
        td.detail { white-space: normal; color: var(--muted); }
        .empty { color: var(--muted); margin: 6px 0 0; }
        .state { display: inline-block; padding: 0 8px; border-radius: 10px; color: #fff; font-size: 12px; }
        .state.up { background: var(--ok); } .state.down { background: var(--full); } .state.draining { background: var(--warn); }
        .reason { font-family: ui-monospace, monospace; font-size: 12px; }
        svg#topology { width: 100%; height: auto; max-height: 380px; display: block; }
        svg .node rect { fill: #fff; stroke: #8a94a6; stroke-width: 1.5; rx: 6; }
        svg .node.engine rect { fill: #e8f1fb; stroke: #3b6ea5; }
        svg .node.engine.down rect { fill: #fbe9e9; stroke: var(--full); }
        svg .node.edge rect { fill: #eef8f1; stroke: var(--ok); }
        svg .node text { font-size: 12px; text-anchor: middle; fill: var(--ink); }
        svg .node text.kind { font-size: 10px; fill: var(--muted); }
        svg .link line { stroke-linecap: round; }
        svg .link text { font-size: 11px; fill: var(--ink); text-anchor: middle; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
        .links { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 6px 20px; margin-top: 8px; }
        .link-row { display: grid; grid-template-columns: 110px 1fr; gap: 2px 8px; align-items: center; font-size: 12px; }
        .link-row .value { grid-column: 2; color: var(--muted); }
        .bar { height: 10px; background: #edf0f4; border-radius: 5px; overflow: hidden; }
        .bar .fill { height: 100%; background: var(--ok); transition: width .4s; }
        .bar .fill.warn { background: var(--warn); } .bar .fill.full { background: var(--full); }
        body.login main { display: block; max-width: 380px; margin: 12vh auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 24px 28px; }
        body.login h1 { margin-top: 0; }
        body.login label { display: block; font-weight: 600; margin: 12px 0 4px; }
        body.login input { width: 100%; padding: 8px; border: 1px solid #c5cbd5; border-radius: 4px; font: inherit; }
        body.login button { margin-top: 12px; padding: 8px 16px; border: 0; border-radius: 4px; background: #14202e; color: #fff; font: inherit; cursor: pointer; }
        .error { color: var(--full); }
        .hint { color: var(--muted); font-size: 12px; }
        main.watch { display: block; max-width: 960px; margin: 20px auto; }
        main.watch video { width: 100%; background: #000; border-radius: 6px; }
        #status[data-state="refused"], #status[data-state="error"] { color: var(--full); }
        #status[data-state="queued"] { color: var(--warn); }
        header #duration { color: #aab4c3; }
        """
}
