// Live editing on the story change form (stories/editorial/live.py): the preview of
// unsaved changes (a button, and a side panel on wide screens), autosave of the user's
// private working copy, restoring it, and who else has the story open.
"use strict";
(function () {
  const root = document.getElementById("live-editing");
  const form = root && root.closest("form");
  if (!form) return;

  const AUTOSAVE_AFTER_MS = 5000; // a pause in typing this long saves the working copy
  const AUTOSAVE_AT_MOST_MS = 15000; // and steady typing is never left unsaved longer
  const PREVIEW_AFTER_MS = 700; // the side panel follows a moment after typing stops
  const HEARTBEAT_MS = 20000;
  const WIDE = window.matchMedia("(min-width: 1400px)");

  const urls = {
    preview: root.dataset.previewUrl,
    autosave: root.dataset.autosaveUrl,
    discard: root.dataset.discardUrl,
    presence: root.dataset.presenceUrl,
  };
  const status = root.querySelector(".live-tools__status");
  const panel = root.querySelector(".live-panel");
  const panelButton = root.querySelector(".live-tools__panel");
  const previewButton = root.querySelector(".live-tools__preview");
  const draftKeyInput = form.elements.live_draft_key;
  let submitting = false;

  // The form as it would be posted, without files (an image is not a draft's business).
  function formData() {
    const data = new FormData(form);
    for (const [name, value] of Array.from(data.entries())) {
      if (value instanceof File) data.delete(name);
    }
    return data;
  }

  function serialize() {
    const params = new URLSearchParams();
    for (const [name, value] of formData()) {
      if (name !== "csrfmiddlewaretoken") params.append(name, value);
    }
    return params.toString();
  }

  function csrfToken() {
    return form.elements.csrfmiddlewaretoken.value;
  }

  function post(url, data, options) {
    data.set("csrfmiddlewaretoken", csrfToken());
    // A redirect means the session ended (the login page): never mistake it for success.
    const init = { method: "POST", body: data, credentials: "same-origin", redirect: "manual" };
    return fetch(url, Object.assign(init, options));
  }

  // Submit the change form somewhere else (the preview) without saving: the browser sends
  // exactly what Save would, CSRF token included; files are left out.
  function submitTo(url, target) {
    const saved = { action: form.getAttribute("action"), target: form.getAttribute("target") };
    const files = Array.from(form.querySelectorAll("input[type=file]:not([disabled])"));
    files.forEach((input) => { input.disabled = true; });
    form.setAttribute("action", url);
    form.setAttribute("target", target);
    try {
      HTMLFormElement.prototype.submit.call(form); // no submit event: nothing thinks it saves
    } finally {
      files.forEach((input) => { input.disabled = false; });
      for (const [name, value] of Object.entries(saved)) {
        if (value === null) form.removeAttribute(name);
        else form.setAttribute(name, value);
      }
    }
  }

  // --- Preview ---------------------------------------------------------------------------
  previewButton.hidden = false;
  previewButton.addEventListener("click", () => submitTo(urls.preview, "_blank"));

  let frameCount = 0;
  let previewed = null;

  // Each refresh loads a new frame and swaps it in once loaded: no flicker, the reader's
  // scroll position kept, and no entry in the page's history per refresh (a frame's first
  // page replaces its blank one).
  function refreshPreview(value) {
    previewed = value;
    const old = panel.querySelector("iframe.live-panel__frame--shown");
    const frame = document.createElement("iframe");
    frame.name = `live-preview-${++frameCount}`;
    frame.title = "Preview of your unsaved changes";
    frame.className = "live-panel__frame";
    frame.addEventListener("load", () => {
      let scroll = 0;
      try { scroll = old ? old.contentWindow.scrollY : 0; } catch (error) { scroll = 0; }
      frame.classList.add("live-panel__frame--shown");
      try { frame.contentWindow.scrollTo(0, scroll); } catch (error) { /* not ours */ }
      panel.querySelectorAll("iframe").forEach((other) => { if (other !== frame) other.remove(); });
    }, { once: true });
    panel.appendChild(frame);
    submitTo(urls.preview, frame.name);
  }

  function panelWanted() {
    return WIDE.matches && panelButton.getAttribute("aria-pressed") === "true";
  }

  function showPanel() {
    const on = panelWanted();
    panelButton.textContent = on ? "Hide side preview" : "Show side preview";
    panel.hidden = !on;
    document.body.classList.toggle("live-panel-open", on);
    if (on && previewed === null) refreshPreview(serialize());
  }

  function syncPanelButton() {
    panelButton.hidden = !WIDE.matches;
    showPanel();
  }
  // Whether the user hid the panel is remembered across pages (this browser only).
  const PANEL_HIDDEN_KEY = "newsroom.livePanelHidden";
  function storedPanelHidden() {
    try { return window.localStorage.getItem(PANEL_HIDDEN_KEY) === "1"; } catch (error) { return false; }
  }
  function storePanelHidden(hidden) {
    try {
      if (hidden) window.localStorage.setItem(PANEL_HIDDEN_KEY, "1");
      else window.localStorage.removeItem(PANEL_HIDDEN_KEY);
    } catch (error) { /* storage disabled: the choice lasts this page only */ }
  }
  panelButton.setAttribute("aria-pressed", storedPanelHidden() ? "false" : "true");
  panelButton.addEventListener("click", () => {
    const pressed = panelButton.getAttribute("aria-pressed") === "true";
    panelButton.setAttribute("aria-pressed", pressed ? "false" : "true");
    storePanelHidden(pressed);
    previewed = null;
    panel.replaceChildren();
    showPanel();
  });
  WIDE.addEventListener("change", syncPanelButton);

  // --- Autosave --------------------------------------------------------------------------
  let current = serialize();
  let savedValue = current; // what the server has (or the page was loaded with)
  let changedAt = 0;
  let unsavedSince = 0;
  let saving = false;
  let retryAt = 0; // after a failure, wait before trying again rather than hammer the server

  function say(text) {
    status.textContent = text;
  }

  async function autosave(value) {
    saving = true;
    try {
      const response = await post(urls.autosave, formData());
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        savedValue = value;
        unsavedSince = 0;
        say(answer.message || "Unsaved changes kept");
      } else {
        retryAt = Date.now() + 30000;
        say(answer.error || "Your changes could not be kept (logged out?): save the story.");
      }
    } catch (error) {
      retryAt = Date.now() + 10000;
      say("Offline: your changes are not kept yet.");
    } finally {
      saving = false;
    }
  }

  // On leaving without saving (tab closed, another page): keep what was typed since.
  function keepOnLeaving() {
    if (submitting || serialize() === savedValue) return;
    const data = formData();
    data.set("csrfmiddlewaretoken", csrfToken());
    // Browsers carry at most 64 kB out of a closing page: a longer story relies on the
    // autosave made a few seconds after the last change.
    try {
      if (!navigator.sendBeacon(urls.autosave, data)) {
        fetch(urls.autosave, { method: "POST", body: data, keepalive: true, credentials: "same-origin" })
          .catch(() => {});
      }
      savedValue = serialize();
    } catch (error) { /* too large to send on the way out */ }
  }

  function tick() {
    const value = serialize();
    const now = Date.now();
    if (value !== current) {
      current = value;
      changedAt = now;
      if (!unsavedSince) unsavedSince = now;
    }
    if (panelWanted() && value !== previewed && now - changedAt >= PREVIEW_AFTER_MS) {
      refreshPreview(value);
    }
    const due = now - changedAt >= AUTOSAVE_AFTER_MS || now - unsavedSince >= AUTOSAVE_AT_MOST_MS;
    if (!saving && !submitting && value !== savedValue && due && now >= retryAt) autosave(value);
  }

  form.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("pageshow", () => { submitting = false; });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") keepOnLeaving();
  });
  window.addEventListener("pagehide", keepOnLeaving);

  // --- Restore ---------------------------------------------------------------------------
  const restoreBox = root.querySelector(".live-restore");

  // Select boxes of the admin's autocomplete (select2) show the options they hold.
  function choose(select, choices) {
    if (!select) return;
    select.replaceChildren(...choices.map((c) => new Option(c.name, String(c.id), true, true)));
    select.dispatchEvent(new Event("change", { bubbles: true }));
    if (window.django && window.django.jQuery) window.django.jQuery(select).trigger("change");
  }

  function bylineRows() {
    return Array.from(form.querySelectorAll(".dynamic-story_bylines"));
  }

  // Rows already holding a wanted byline stay (renumbered); the others are marked for
  // deletion; missing bylines get new rows. No row changes byline, so no two rows ever
  // hold the same one on the way.
  function restoreBylines(bylines) {
    const wanted = bylines.map((b) => String(b.id));
    const kept = new Set();
    for (const row of bylineRows()) {
      const select = row.querySelector("select[name$='-byline']");
      const remove = row.querySelector("input[name$='-DELETE']");
      const position = row.querySelector("input[name$='-position']");
      const value = select ? select.value : "";
      if (value && wanted.includes(value) && !kept.has(value)) {
        kept.add(value);
        if (remove) remove.checked = false;
        if (position) position.value = String(wanted.indexOf(value));
      } else if (remove && row.querySelector("input[name$='-id']").value) {
        remove.checked = true;
      } else if (value) {
        choose(select, []);
      }
    }
    const addLink = form.querySelector("#story_bylines-group .add-row a");
    bylines.forEach((byline, index) => {
      if (kept.has(String(byline.id))) return;
      let row = bylineRows().find((r) => {
        const select = r.querySelector("select[name$='-byline']");
        return select && !select.value && !r.querySelector("input[name$='-id']").value;
      });
      if (!row && addLink) {
        addLink.click();
        const rows = bylineRows();
        row = rows[rows.length - 1];
      }
      if (!row) return;
      choose(row.querySelector("select[name$='-byline']"), [byline]);
      row.querySelector("input[name$='-position']").value = String(index);
    });
  }

  function restore(copy) {
    for (const [name, value] of Object.entries(copy.fields)) {
      const field = form.elements[name];
      if (field && !field.readOnly) {
        field.value = value;
        // A rich-text editor over the field (the body's) reloads from it on this event.
        field.dispatchEvent(new CustomEvent("newsroom:value-set"));
        field.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }
    choose(form.elements.section, copy.section ? [copy.section] : []);
    choose(form.elements.tags, copy.tags);
    restoreBylines(copy.bylines);
    if (copy.draft_key && draftKeyInput) draftKeyInput.value = copy.draft_key;
    savedValue = serialize(); // the server has exactly this already
    current = savedValue;
    say("Your unsaved changes are back in the form: check them, then save the story.");
  }

  if (restoreBox) {
    const copy = JSON.parse(document.getElementById("live-editing-copy").textContent);
    restoreBox.querySelector(".live-restore__restore").addEventListener("click", () => {
      restore(copy);
      restoreBox.remove();
      const headline = form.elements.headline;
      if (headline) headline.focus();
    });
    restoreBox.querySelector(".live-restore__discard").addEventListener("click", async (event) => {
      const data = new FormData();
      data.set("discard_key", event.currentTarget.dataset.draftKey);
      const response = await post(urls.discard, data);
      if (response.ok) {
        restoreBox.remove();
        say("Unsaved changes discarded.");
      } else {
        say("Could not discard the unsaved changes; try again.");
      }
    });
  }

  // --- Presence --------------------------------------------------------------------------
  const presenceBox = root.querySelector(".live-presence");

  function showOthers(messages) {
    presenceBox.replaceChildren(...messages.map((text) => {
      const line = document.createElement("p");
      line.className = "live-presence__message";
      line.textContent = text;
      return line;
    }));
  }

  async function heartbeat() {
    try {
      const response = await post(urls.presence, new FormData());
      if (response.ok) showOthers((await response.json()).others);
    } catch (error) { /* offline: try again next beat */ }
  }

  if (urls.presence) {
    heartbeat();
    setInterval(heartbeat, HEARTBEAT_MS);
    window.addEventListener("pagehide", () => {
      if (submitting) return; // saving reloads the page, which is still open
      const data = new FormData();
      data.set("leaving", "1");
      data.set("csrfmiddlewaretoken", csrfToken());
      navigator.sendBeacon(urls.presence, data);
    });
    window.addEventListener("pageshow", (event) => { if (event.persisted) heartbeat(); });
  }

  syncPanelButton();
  setInterval(tick, 500);
})();
