// Small behaviours without inline scripts (the pages run under a strict CSP).
"use strict";

// A <select data-autosubmit> (the language switch) submits its form on change.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches && el.matches("select[data-autosubmit]")) el.form.submit();
});

// <form data-confirm="Question?"> asks before it submits.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// Ctrl/Cmd+Enter in a form with a [data-ctrl-enter] button clicks that button
// (telesales entry: "save and next"). Plain Enter submits with the default button.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  const form = event.target.closest && event.target.closest("form");
  const button = form && form.querySelector("[data-ctrl-enter]");
  if (button) {
    event.preventDefault();
    button.click();
  }
});

// <button data-copy="element-id"> copies that field's value to the clipboard.
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => {
    const label = button.textContent;
    button.textContent = button.dataset.copied || label;
    window.setTimeout(() => { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => document.execCommand("copy") && done());
  } else if (document.execCommand("copy")) {
    done();
  }
});

// htmx: when a request fails (network, 403, 404, 5xx) say so instead of doing nothing.
function showRequestFailure() {
  const box = document.getElementById("messages");
  if (!box) return;
  const list = document.createElement("ul");
  list.className = "messages";
  list.setAttribute("role", "alert");
  const item = document.createElement("li");
  item.className = "msg error";
  item.textContent = document.body.dataset.requestFailed || "Request failed.";
  list.appendChild(item);
  box.replaceChildren(list);
}
document.addEventListener("htmx:responseError", showRequestFailure);
document.addEventListener("htmx:sendError", showRequestFailure);

// htmx GET requests (filters) leave out empty fields, so the URL in the address bar stays
// short and shareable: /leads/?stage=sql instead of /leads/?q=&stage=sql&owner=&…
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.verb !== "get" || !event.detail.formData) return;
  const data = event.detail.formData;
  for (const key of new Set(data.keys())) {
    const values = data.getAll(key).filter((value) => value !== "");
    data.delete(key);
    for (const value of values) data.append(key, value);
  }
});

// htmx: a request that ended on the login page (the session expired) loads that page
// instead of pasting it into a part of the current one.
document.addEventListener("htmx:beforeSwap", (event) => {
  const url = event.detail.xhr && event.detail.xhr.responseURL;
  if (url && new URL(url).pathname === "/accounts/login/") {
    event.detail.shouldSwap = false;
    window.location.assign(url);
  }
});
