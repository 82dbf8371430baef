// Usage: node validate.js FILE.glb  -> prints the Khronos validator report (JSON) on stdout.
const fs = require("fs");
const validator = require("gltf-validator");
const file = process.argv[2];
validator
  .validateBytes(new Uint8Array(fs.readFileSync(file)), { maxIssues: 200 })
  .then((report) => console.log(JSON.stringify(report, null, 1)))
  .catch((err) => { console.error(err); process.exit(1); });
