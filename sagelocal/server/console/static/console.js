// sagelocal console: live updates without reloading the page. Served from the console's own origin; the
// fragments it fetches are rendered (and escaped) by the server, so no value is ever turned into markup here.
"use strict";

(function () {
  const pollMs = Number(document.body.dataset.pollMs || 1500);

  // An element with data-live="<url>" is replaced by the fragment at that URL every pollMs, until the server
  // says the resource will not change any more (X-Console-Final: 1).
  function live(element) {
    if (element.dataset.final === "1") {
      return;
    }
    window.setTimeout(async function () {
      try {
        const response = await fetch(element.dataset.live, { cache: "no-store", credentials: "same-origin" });
        if (response.ok) {
          element.innerHTML = await response.text();
          element.dataset.final = response.headers.get("X-Console-Final") || "0";
          element.dataset.updated = String(Number(element.dataset.updated || 0) + 1);
        }
      } catch (error) {
        // the server restarted or went away: try again at the next tick
      }
      live(element);
    }, pollMs);
  }

  // The log (ol[data-follow]) appends the lines that arrive after data-after while "Follow" is ticked, and
  // keeps its last line in view.
  function follow(log) {
    const box = document.getElementById("follow");
    let final = false;
    async function tick() {
      if (box && box.checked && !final) {
        try {
          const url = log.dataset.follow + "?after=" + encodeURIComponent(log.dataset.after || "0");
          const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
          if (response.ok) {
            const html = await response.text();
            if (html.trim()) {
              log.insertAdjacentHTML("beforeend", html);
              const last = log.lastElementChild;
              if (last) {
                last.scrollIntoView({ block: "nearest" });
              }
            }
            log.dataset.after = response.headers.get("X-Console-After") || log.dataset.after;
            const range = document.querySelector(".log-range");
            const shown = log.children.length;
            if (range && shown) {
              // on the last page while following, the page's end is the log's end
              const first = Number(log.dataset.start || 0) + 1;
              const last = first + shown - 1;
              range.textContent = "Events " + first + "\u2013" + last + " of " + last;
            }
            final = response.headers.get("X-Console-Final") === "1";
          }
        } catch (error) {
          // try again at the next tick
        }
      }
      if (!final) {
        window.setTimeout(tick, pollMs);
      }
    }
    window.setTimeout(tick, pollMs);
  }

  document.querySelectorAll("[data-live]").forEach(live);
  document.querySelectorAll("ol[data-follow]").forEach(follow);
})();
