"use strict";
// Start loading the cameras before OpenLayers is parsed (the map waits for both).
(function () {
  var cfg = JSON.parse(document.getElementById("console-config").textContent);
  var params = new URLSearchParams(location.search);
  params.delete("camera");
  window.gwanjeInitialCameras = fetch(cfg.camerasUrl + (params.toString() ? "?" + params : ""),
    {headers: {Accept: "application/json"}, credentials: "same-origin"});
  window.gwanjeInitialParams = params.toString();
})();
