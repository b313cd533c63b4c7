/**
 * The cluster's front: a small HTTP proxy on 127.0.0.1 that hands each request to the next running
 * instance in turn, as a load balancer without sticky sessions would. Nothing is buffered: request
 * and response bodies stream through, every method is forwarded, and every response says which
 * instance answered (`x-served-by: i2`). A request carrying `x-cluster-instance: i2` goes to that
 * instance only, so a test can write on one instance and read on another; the header is removed
 * before forwarding. Not deployed: a tool for running and testing several `next start` on one machine.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const SERVED_BY_HEADER = "x-served-by";
export const PIN_HEADER = "x-cluster-instance";

export type Target = { id: string; port: number; running: boolean };

export type Front = {
  url: string;
  port: number;
  close(): Promise<void>;
};

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Raw header pairs without hop-by-hop headers and without `drop`; repeated headers (set-cookie) stay repeated. */
function forwardable(raw: string[], drop: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? "";
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower)) continue;
    out.push(name, raw[i + 1] ?? "");
  }
  return out;
}

function refuse(res: ServerResponse, status: number, servedBy: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    [SERVED_BY_HEADER]: servedBy,
  });
  res.end(`${message}\n`);
}

/**
 * Starts the front. `targets` is read on every request, so instances stopped, restarted or added
 * later are picked up at once; a stopped instance is skipped by the rotation, and a request pinned to
 * it gets a 503 rather than being sent elsewhere.
 */
export async function startFront(options: {
  port: number;
  targets: () => readonly Target[];
  host?: "127.0.0.1";
}): Promise<Front> {
  const host = options.host ?? "127.0.0.1";
  // One connection per forwarded request: a pooled socket to an instance that was just restarted
  // would fail the next request with ECONNRESET. Loopback connections cost little.
  const agent = new Agent({ keepAlive: false });
  let turn = 0;

  function choose(req: IncomingMessage): Target | { refusal: string; status: number } {
    const all = options.targets();
    const pinned = req.headers[PIN_HEADER];
    if (typeof pinned === "string" && pinned !== "") {
      const target = all.find((t) => t.id === pinned);
      if (!target)
        return { status: 400, refusal: `No instance ${pinned}; known: ${all.map((t) => t.id).join(", ")}` };
      if (!target.running) return { status: 503, refusal: `Instance ${pinned} is not running.` };
      return target;
    }
    const running = all.filter((t) => t.running);
    const target = running[turn % Math.max(1, running.length)];
    turn += 1;
    return target ?? { status: 503, refusal: "No instance is running." };
  }

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const chosen = choose(req);
    if ("refusal" in chosen) {
      req.resume();
      refuse(res, chosen.status, "none", chosen.refusal);
      return;
    }
    const headers = forwardable(req.rawHeaders, new Set([PIN_HEADER, "x-forwarded-for"]));
    // Host stays the front's, so Server Actions' origin check (Origin vs Host) holds across instances.
    const clientAddress = req.socket.remoteAddress ?? "127.0.0.1";
    const forwardedFor = req.headers["x-forwarded-for"];
    headers.push("x-forwarded-for", forwardedFor ? `${forwardedFor}, ${clientAddress}` : clientAddress);

    const upstream = request(
      {
        host: "127.0.0.1",
        port: chosen.port,
        method: req.method,
        path: req.url,
        headers,
        agent,
      },
      (upstreamRes) => {
        const responseHeaders = forwardable(upstreamRes.rawHeaders, new Set([SERVED_BY_HEADER]));
        responseHeaders.push(SERVED_BY_HEADER, chosen.id);
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, responseHeaders);
        upstreamRes.pipe(res);
        upstreamRes.on("error", () => res.destroy());
      },
    );
    upstream.on("error", (error) => {
      refuse(res, 502, chosen.id, `Instance ${chosen.id} did not answer: ${error.message}`);
    });
    // A client that goes away stops the instance's work on its behalf too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  const server = createServer(forward);
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
        agent.destroy();
      });
      return closing;
    },
  };
}
