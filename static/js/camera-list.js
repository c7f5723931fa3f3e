/* The camera list: leave empty filter fields out of the htmx requests (and so of the pushed URL). */
document.addEventListener("htmx:configRequest", (event) => {
  const params = event.detail.parameters;
  for (const key of Object.keys(params)) {
    if (params[key] === "") delete params[key];
  }
});
