// tastevec's page: plain JavaScript, no build step, no request to anywhere but this server.
"use strict";

const $ = (id) => document.getElementById(id);
let current = null; // id of the photo shown for rating
let busy = false;   // a rating request is in flight
let rankingTimer = null;

async function api(path, options) {
  const init = options || {};
  if (init.body !== undefined) {
    init.method = init.method || "POST";
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(init.body);
  }
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, init));
  const data = await response.json();
  if (!response.ok) {
    throw new Error(data.error || response.statusText);
  }
  return data;
}

function post(path, body) {
  return api(path, { method: "POST", body: body === undefined ? {} : body });
}

function show(view) {
  document.body.dataset.view = view;
  for (const section of document.querySelectorAll(".view")) {
    section.hidden = section.id !== "view-" + view;
  }
  for (const button of document.querySelectorAll("nav button")) {
    if (button.dataset.target === view) {
      button.setAttribute("aria-current", "page");
    } else {
      button.removeAttribute("aria-current");
    }
  }
  if (view === "ranking") { loadRanking(); }
  if (view === "status") { loadStatus(); }
  if (view === "folders") { loadFolders(); }
  if (view === "rate" && current === null) { loadNext(); }
}

function message(id, text) { $(id).textContent = text || ""; }

async function loadNext() {
  try {
    const next = await api("/api/next");
    const how = next.how === "chosen" ? "chosen to teach your model most"
      : next.how === "in order" ? "in folder order while scores are computed" : "";
    $("rate-info").textContent = (next.name ? next.name + " · " : "") + next.unrated +
      " unrated" + (how ? "; this one " + how : "");
    if (next.id === null) {
      current = null;
      $("photo").hidden = true;
      $("photo").removeAttribute("src");
      $("rate-empty").hidden = false;
      $("photo").dataset.id = "";
      return;
    }
    current = next.id;
    $("rate-empty").hidden = true;
    $("photo").hidden = false;
    $("photo").src = "/api/photos/" + next.id + "/view";
    $("photo").dataset.id = next.id;
    $("photo").dataset.how = next.how;
    $("photo").dataset.name = next.name;
  } catch (error) {
    message("rate-message", error.message);
  }
}

async function rate(stars) {
  if (current === null || busy) { return; }
  busy = true;
  try {
    const result = await post("/api/rate", { id: current, stars: stars });
    document.body.dataset.ratings = result.ratings;
    message("rate-message", "");
    current = null;
    await loadNext();
  } catch (error) {
    message("rate-message", error.message);
  } finally {
    busy = false;
  }
}

async function skip() {
  if (current === null || busy) { return; }
  busy = true;
  try {
    await post("/api/skip", { id: current });
    current = null;
    await loadNext();
  } catch (error) {
    message("rate-message", error.message);
  } finally {
    busy = false;
  }
}

async function undo() {
  if (busy) { return; }
  busy = true;
  try {
    const result = await post("/api/undo");
    document.body.dataset.ratings = result.ratings;
    current = result.id;
    $("photo").src = "/api/photos/" + result.id + "/view";
    $("photo").dataset.id = result.id;
    $("photo").hidden = false;
    $("rate-empty").hidden = true;
    message("rate-message", "undone: rate this photo again");
  } catch (error) {
    message("rate-message", error.message);
  } finally {
    busy = false;
  }
}

async function fit() {
  try {
    await post("/api/fit");
    $("fit-state").dataset.state = "running";
    $("fit-state").textContent = "fitting…";
  } catch (error) {
    $("fit-state").textContent = error.message;
  }
}

function figure(item, rank) {
  const box = document.createElement("figure");
  box.dataset.id = item.id;
  box.dataset.score = item.score;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = item.name;
  img.src = "/api/photos/" + item.id + "/thumb";
  const caption = document.createElement("figcaption");
  const left = document.createElement("span");
  left.className = "rank";
  left.textContent = "#" + rank;
  const right = document.createElement("span");
  right.className = "score";
  right.textContent = item.score.toFixed(3);
  caption.append(left, right);
  box.append(img, caption);
  return box;
}

async function loadRanking() {
  clearTimeout(rankingTimer);
  try {
    const data = await api("/api/ranking?limit=500");
    const gallery = $("gallery");
    const key = data.items.map((i) => i.id + ":" + i.score).join(",");
    if (gallery.dataset.key !== key) {
      gallery.replaceChildren(...data.items.map((item, i) => figure(item, i + 1)));
      gallery.dataset.key = key;
    }
    const complete = data.total > 0 && data.scored === data.total;
    gallery.dataset.complete = complete ? "yes" : "no";
    gallery.dataset.generation = data.generation;
    $("ranking-progress").textContent = "scored " + data.scored + " of " + data.total;
    $("ranking-model").textContent = "· model: " + data.model;
    if (!complete && document.body.dataset.view === "ranking") {
      rankingTimer = setTimeout(loadRanking, 700);
    }
  } catch (error) {
    $("ranking-progress").textContent = error.message;
  }
}

async function loadFolders() {
  try {
    const data = await api("/api/folders");
    $("folder-list").replaceChildren(...data.folders.map((folder) => {
      const li = document.createElement("li");
      li.textContent = folder.path + " (" + folder.photos + " photos)";
      return li;
    }));
  } catch (error) {
    message("folder-message", error.message);
  }
}

async function addFolder(event) {
  event.preventDefault();
  try {
    const result = await post("/api/folders", { path: $("folder-path").value });
    message("folder-message", "");
    $("folder-path").value = "";
    await loadFolders();
    if (current === null) { await loadNext(); }
    return result;
  } catch (error) {
    message("folder-message", error.message);
  }
  return null;
}

let lastFitState = "idle";

async function loadStatus() {
  try {
    const s = await api("/api/status");
    document.body.dataset.ratings = s.ratings;
    $("status-release").textContent = s.release || "none: run tastevec-client pull first";
    $("status-ratings").textContent = s.ratings + (s.scale ? " on scale " + s.scale : "") +
      (s.last_rated ? " (last " + s.last_rated + ")" : "");
    $("status-fit").textContent = s.profile
      ? s.profile.mode + " " + s.profile.layout + " from " + s.profile.ratings + " ratings, " +
        s.profile.fitted_at
      : "none yet (" + (s.model || "the population's default model") + ")";
    $("status-fit").dataset.fitted = s.profile ? "yes" : "no";
    $("status-scoring").textContent = "scored " + s.scored + " of " + s.total + " photos";
    $("status-sharing").textContent = s.sharing;
    $("status-home").textContent = s.home;
    const state = $("fit-state");
    state.dataset.state = s.fit.state;
    const seconds = s.fit.seconds === null ? "" : " (" + s.fit.seconds.toFixed(1) + " s)";
    state.textContent = s.fit.state === "idle" ? "" :
      s.fit.state === "running" ? "fitting…" + seconds : s.fit.message + seconds;
    if (lastFitState === "running" && s.fit.state !== "running") {
      if (document.body.dataset.view === "ranking") { loadRanking(); }
      if (document.body.dataset.view === "rate" && current === null) { loadNext(); }
    }
    lastFitState = s.fit.state;
  } catch (error) {
    $("fit-state").textContent = error.message;
  }
}

async function forget() {
  try {
    const result = await post("/api/forget");
    $("forget-confirm").hidden = true;
    message("status-message", "");
    $("status-message").dataset.done = "yes";
    $("status-message").textContent = result.forgot.join("; ");
    current = null;
    await loadStatus();
  } catch (error) {
    message("status-message", error.message);
  }
}

function onKey(event) {
  if (event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) {
    return;
  }
  if (event.key === "f") { fit(); return; }
  if (document.body.dataset.view !== "rate") { return; }
  if (event.key >= "1" && event.key <= "5") { rate(Number(event.key)); }
  else if (event.key === "s") { skip(); }
  else if (event.key === "u" || event.key === "Backspace") { undo(); }
}

function start() {
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", () => show(button.dataset.target));
  }
  for (const star of document.querySelectorAll(".star")) {
    star.addEventListener("click", () => rate(Number(star.dataset.stars)));
  }
  $("skip").addEventListener("click", skip);
  $("undo").addEventListener("click", undo);
  $("fit").addEventListener("click", fit);
  $("folder-form").addEventListener("submit", addFolder);
  $("forget").addEventListener("click", () => { $("forget-confirm").hidden = false; });
  $("forget-confirm").addEventListener("click", forget);
  document.addEventListener("keydown", onKey);
  show("rate");
  loadStatus();
  setInterval(loadStatus, 1500);
}

start();
