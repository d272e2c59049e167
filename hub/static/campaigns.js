// The segment editor's live count: the rules are posted as they change (debounced) and the
// count and a sample of members are shown; text is only ever set with textContent.
(function () {
  "use strict";
  var form = document.getElementById("segment-form");
  if (!form) { return; }
  var script = document.getElementById("campaigns-js");
  var countEl = document.getElementById("segment-count");
  var sampleEl = document.getElementById("segment-sample");
  var errorsEl = document.getElementById("segment-errors");
  var timer = null;
  var seq = 0;

  function label(n) {
    return script.dataset.count.replace("{n}", String(n));
  }

  function show(data) {
    errorsEl.replaceChildren();
    sampleEl.replaceChildren();
    // The builder, when there is one, shows each error beside its rule (and cancels the event);
    // without it they are listed here.
    var placed = !form.dispatchEvent(new CustomEvent("segment-preview", { detail: data, cancelable: true }));
    if (data.errors) {
      countEl.textContent = "";
      if (placed) {
        var note = document.createElement("li");
        note.textContent = script.dataset.marked;
        errorsEl.appendChild(note);
        return;
      }
      data.errors.forEach(function (e) {
        var li = document.createElement("li");
        li.textContent = e.field + ": " + e.message;
        errorsEl.appendChild(li);
      });
      return;
    }
    countEl.textContent = label(data.count);
    data.sample.forEach(function (m) {
      var li = document.createElement("li");
      li.textContent = m.name + " · " + m.customer + " (" + m["class"] + (m.region ? ", " + m.region : "") + ")";
      sampleEl.appendChild(li);
    });
  }

  function refresh() {
    var mine = ++seq;
    fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === seq) { show(data); } })
      .catch(function () { /* the count waits for the next change */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
})();

// The campaign page's live counts and chart: the server renders the fragment (escaped), the
// script swaps it in every two seconds while the campaign runs, and every five after it ends
// while delivery receipts may still come (the fragment's data-live says which).
(function () {
  "use strict";
  var box = document.getElementById("campaign-progress");
  if (!box || box.dataset.live !== "1") { return; }
  var shown = box.dataset.state;
  function pause() { return ["running", "scheduled"].indexOf(shown) === -1 ? 5000 : 2000; }
  function tick() {
    fetch(box.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        box.innerHTML = html;
        var state = box.querySelector("[data-state]");
        if (!state) { return; }
        if (state.dataset.state !== shown) {
          // Finished or paused: the page's actions and not-sent list change too, so load it again.
          window.location.reload();
          return;
        }
        if (state.dataset.live === "1") { setTimeout(tick, pause()); }
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, pause());
})();
