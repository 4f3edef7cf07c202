import path from "node:path";

export default {
  mode: "production",
  entry: "./index.js",
  output: { path: path.resolve("dist"), filename: "main.js", publicPath: "auto", clean: true },
};
