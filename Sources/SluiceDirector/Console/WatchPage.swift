import SluiceCore

/// `GET /watch/{object}`: a `<video>` that plays the object over HLS. Its script asks the
/// director for a session (`/play/NAME.m3u8`, JSON) with the viewer's cookie, says so while the
/// request waits in the queue, then hands the engine's playlist to the video element, or shows
/// the refusal. Object names are [A-Za-z0-9._-] only, so they go into the markup as they are.
enum WatchPage {
    static func html(object: MediaObject) -> String {
        let seconds = object.durationMilliseconds / 1000
        let duration = String(format: "%d:%02d", seconds / 60, seconds % 60)
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(object.name): Sluice</title>
            <link rel="stylesheet" href="/console/console.css">
            <script src="/console/watch.js" defer></script>
            </head>
            <body class="watch" data-object="\(object.name)">
            <header><h1>Sluice</h1><span id="title">\(object.name)</span><span id="duration">\(duration)</span></header>
            <main class="watch">
            <video id="player" controls autoplay muted playsinline></video>
            <p id="status" data-state="asking">Asking the director for a reserved path...</p>
            </main>
            </body>
            </html>
            """
    }

    static func missing(_ name: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Not found: Sluice</title><link rel="stylesheet" href="/console/console.css"></head>
        <body class="login"><main><h1>Sluice</h1><p class="error" id="status" data-state="missing">There is no object '\(name)' for you to watch.</p></main></body>
        </html>
        """
    }

    static let script = #"""
        "use strict";
        document.addEventListener("DOMContentLoaded", async () => {
          const name = document.body.dataset.object;
          const status = document.getElementById("status");
          const video = document.getElementById("player");
          const say = (state, text) => { status.dataset.state = state; status.textContent = text; };
          const started = Date.now();
          // The request waits in the director's queue while the path is full: say so, with its
          // place (asked once a second, only while it waits).
          const waiting = setTimeout(async function tick() {
            let place = "";
            try {
              const queue = await (await fetch("/v1/queue")).json();
              const mine = (queue.waiting || []).find((w) => w.object === name);
              if (mine) place = ", number " + mine.position + " of " + queue.length + " in the queue";
              if (mine) document.body.dataset.queuePosition = String(mine.position);
            } catch (error) {}
            if (status.dataset.state === "asking" || status.dataset.state === "queued") {
              say("queued", "The network is busy: waiting for capacity (" + Math.round((Date.now() - started) / 1000) + " s" + place + ")...");
              waitingTimer = setTimeout(tick, 1000);
            }
          }, 700);
          let waitingTimer = waiting;
          let answer;
          try {
            answer = await fetch("/play/" + encodeURIComponent(name) + ".m3u8", { headers: { Accept: "application/json" } });
          } catch (error) {
            clearTimeout(waitingTimer);
            say("error", "The director cannot be reached.");
            return;
          }
          clearTimeout(waitingTimer);
          const body = await answer.json().catch(() => ({}));
          if (!answer.ok) {
            say("refused", "Not admitted: " + (body.message || ("the director answered " + answer.status)));
            document.body.dataset.refusal = body.error || String(answer.status);
            return;
          }
          say("playing", "Playing on a reserved path of " + (body.reservedBitsPerSecond / 1e6).toFixed(2) + " Mbit/s (stream " + body.streamID + ").");
          document.body.dataset.stream = String(body.streamID);
          video.src = body.playlist;
          video.play().catch(() => {});
          video.addEventListener("playing", () => {
            if (!document.body.dataset.startupMilliseconds) document.body.dataset.startupMilliseconds = String(Math.round(performance.now()));
          });
          video.addEventListener("ended", () => say("ended", "Finished."));
          video.addEventListener("error", () => say("error", "The player stopped: " + (video.error ? video.error.message || video.error.code : "unknown error")));
        });
        """#
}
