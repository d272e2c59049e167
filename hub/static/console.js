// The agent console's live part: a Server-Sent Events stream of this agent's call events.
// A pop fetches the call's card (rendered and escaped by the server); the card's forms post in
// place. EventSource reconnects by itself; on every (re)connect the console asks which calls are
// live, so a pop sent while the stream was down still shows.
(function () {
  "use strict";
  var area = document.getElementById("live-calls");
  if (!area) return;
  var state = document.getElementById("stream-state");
  var headers = { "X-Requested-With": "console" };

  function cardUrl(id) {
    return area.dataset.cardUrl.replace(/\/0\/card$/, "/" + encodeURIComponent(id) + "/card");
  }

  function setState(name) {
    state.textContent = state.dataset[name];
    state.dataset.state = name;
  }

  function parse(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  function place(card) {
    var existing = document.getElementById(card.id);
    if (existing) {
      existing.replaceWith(card);
    } else {
      area.insertBefore(card, area.firstElementChild);
    }
    area.classList.add("has-calls");
  }

  function load(id) {
    return fetch(cardUrl(id), { headers: headers, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = parse(html);
        var existing = document.getElementById(fresh.id);
        // Once the agent has typed in a card, only its status changes under them.
        if (existing && existing.dataset.dirty) {
          existing.querySelector(".call-status").replaceWith(fresh.querySelector(".call-status"));
          return;
        }
        place(fresh);
      });
  }

  function catchUp() {
    fetch(area.dataset.liveUrl, { headers: headers, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { calls: [] }; })
      .then(function (data) { data.calls.slice().reverse().forEach(load); });
  }

  function typed(event) {
    var card = event.target.closest && event.target.closest("article.call-card");
    if (card) card.dataset.dirty = "1";
  }
  area.addEventListener("input", typed);
  area.addEventListener("change", typed);

  area.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("card-form")) return;
    event.preventDefault();
    fetch(form.action, {
      method: "POST", body: new FormData(form), headers: headers, credentials: "same-origin",
    })
      .then(function (r) { return r.text(); })
      .then(function (html) { place(parse(html)); });
  });

  var source = null;
  function connect() {
    source = new EventSource(area.dataset.eventsUrl);
    source.addEventListener("open", function () { setState("live"); catchUp(); });
    source.addEventListener("error", function () {
      setState("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        // Refused outright (a restart, a 5xx): EventSource gives up; we do not.
        setTimeout(connect, 3000);
      }
    });
    source.addEventListener("call", function (e) { load(JSON.parse(e.data).call_id); });
    source.addEventListener("call-status", function (e) { load(JSON.parse(e.data).call_id); });
  }
  connect();
})();
