/**
 * The baseline the GET benchmarks compare against: node:http answering one
 * precomputed buffer (the bytes landform answered), nothing else.
 */
import { type BenchProcess, startNodeProcess } from "./processes";

const BARE_SERVER = `
const http = require("node:http");
const body = Buffer.from(process.argv[1]);
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 65000;
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ msg: "ready", url: "http://127.0.0.1:" + server.address().port })));
`;

/** Starts the baseline answering `body` to every request. */
export function startBareServer(body: string): Promise<BenchProcess> {
  return startNodeProcess(["-e", BARE_SERVER, body]);
}
