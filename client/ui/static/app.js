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
    $("fit-progress").hidden = false;
    $("fit-progress").value = 0;
  } catch (error) {
    $("fit-state").textContent = error.message;
  }
}

function figure(item, rank) {
  const box = document.createElement("figure");
  box.dataset.id = item.id;
  box.dataset.score = item.score;
  box.dataset.rank = rank;
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

// The ranking is walked a page at a time (the server's page size): "Show more" fetches the
// next page, "Show better ones" the one before what is shown. The gallery keeps at most
// KEEP_PAGES pages, dropping those at the far end, so the browser's memory stays bounded
// however large the collection.
const KEEP_PAGES = 5;
const ranking = { start: 0, end: 0, generation: null, pageSize: 0, ranked: 0 };

function figures(items, offset) {
  return items.map((item, i) => figure(item, offset + i + 1));
}

function rankingWindow(data) {
  const gallery = $("gallery");
  ranking.pageSize = data.page_size;
  ranking.ranked = data.ranked;
  gallery.dataset.start = ranking.start;
  gallery.dataset.end = ranking.end;
  gallery.dataset.ranked = data.ranked;
  gallery.dataset.generation = data.generation;
  const complete = data.total > 0 && data.scored === data.total;
  gallery.dataset.complete = complete ? "yes" : "no";
  $("ranking-more").hidden = ranking.end >= data.ranked;
  $("ranking-earlier").hidden = ranking.start === 0;
  $("ranking-progress").textContent = "scored " + data.scored + " of " + data.total +
    (ranking.end > ranking.start
      ? "; showing #" + (ranking.start + 1) + "-#" + ranking.end + " of " + data.ranked : "");
  $("ranking-model").textContent = "· model: " + data.model;
  return complete;
}

async function loadRanking() {
  // What is shown again (scores still arriving, or a new model): from the top after a model
  // change, else the same ranks.
  clearTimeout(rankingTimer);
  try {
    const size = Math.max(ranking.end - ranking.start, ranking.pageSize, 1);
    const limit = ranking.pageSize ? "&limit=" + size : "";
    let data = await api("/api/ranking?offset=" + ranking.start + limit);
    if (String(data.generation) !== String(ranking.generation) && data.offset !== 0) {
      data = await api("/api/ranking?offset=0");
    }
    const gallery = $("gallery");
    const key = data.generation + "|" + data.offset + "|" +
      data.items.map((i) => i.id + ":" + i.score).join(",");
    if (gallery.dataset.key !== key) {
      gallery.replaceChildren(...figures(data.items, data.offset));
      gallery.dataset.key = key;
    }
    ranking.generation = data.generation;
    ranking.start = data.offset;
    ranking.end = data.offset + data.items.length;
    const complete = rankingWindow(data);
    if (!complete && document.body.dataset.view === "ranking") {
      rankingTimer = setTimeout(loadRanking, 700);
    }
  } catch (error) {
    $("ranking-progress").textContent = error.message;
  }
}

async function showMore() {
  try {
    const data = await api("/api/ranking?offset=" + ranking.end);
    if (String(data.generation) !== String(ranking.generation)) { return loadRanking(); }
    const gallery = $("gallery");
    gallery.append(...figures(data.items, data.offset));
    ranking.end = data.offset + data.items.length;
    while (ranking.end - ranking.start > KEEP_PAGES * data.page_size) {
      for (let i = 0; i < data.page_size && gallery.firstChild; i++) { gallery.firstChild.remove(); }
      ranking.start += data.page_size;
    }
    gallery.dataset.key = "";
    rankingWindow(data);
  } catch (error) {
    $("ranking-progress").textContent = error.message;
  }
  return null;
}

async function showEarlier() {
  try {
    const offset = Math.max(0, ranking.start - ranking.pageSize);
    const data = await api("/api/ranking?offset=" + offset + "&limit=" + (ranking.start - offset));
    if (String(data.generation) !== String(ranking.generation)) { return loadRanking(); }
    const gallery = $("gallery");
    gallery.prepend(...figures(data.items, offset));
    ranking.start = offset;
    while (ranking.end - ranking.start > KEEP_PAGES * data.page_size) {
      const drop = (ranking.end - ranking.start) % data.page_size || data.page_size;
      for (let i = 0; i < drop && gallery.lastChild; i++) { gallery.lastChild.remove(); }
      ranking.end -= drop;
    }
    gallery.dataset.key = "";
    rankingWindow(data);
  } catch (error) {
    $("ranking-progress").textContent = error.message;
  }
  return null;
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
    $("status-scoring").textContent = "scored " + s.scored + " of " + s.total + " photos" +
      (s.own_scored < s.total ? " (ready for the next-photo choice: " + s.own_scored + ")" : "");
    $("status-sharing").textContent = s.sharing;
    $("status-home").textContent = s.home;
    const state = $("fit-state");
    state.dataset.state = s.fit.state;
    const seconds = s.fit.seconds === null ? "" : " (" + s.fit.seconds.toFixed(1) + " s)";
    const step = s.fit.progress;
    const bar = $("fit-progress");
    bar.hidden = s.fit.state !== "running";
    bar.value = step ? step.fraction : 0;
    bar.dataset.fraction = step ? step.fraction : 0;
    const stage = step ? step.stage + (step.total > 1 ? " " + step.done + "/" + step.total : "") : "";
    state.textContent = s.fit.state === "idle" ? "" :
      s.fit.state === "running" ? (stage || "fitting") + "…" + seconds : s.fit.message + seconds;
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
  $("ranking-more").addEventListener("click", showMore);
  $("ranking-earlier").addEventListener("click", showEarlier);
  $("undo").addEventListener("click", undo);
  $("fit").addEventListener("click", fit);
  $("folder-form").addEventListener("submit", addFolder);
  $("forget").addEventListener("click", () => { $("forget-confirm").hidden = false; });
  $("forget-confirm").addEventListener("click", forget);
  document.addEventListener("keydown", onKey);
  show("rate");
  loadStatus();
  setInterval(loadStatus, 1000);
}

start();
