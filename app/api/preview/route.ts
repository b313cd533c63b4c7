/**
 * `GET /api/preview?token=…`: opens a preview link (lib/preview.ts). A valid link turns on Draft
 * Mode and redirects to its post, always a path of this site; anything else is a short page saying
 * what was wrong, never a 500. The token is never logged.
 */
import { draftMode } from "next/headers";
import { connection } from "next/server";
import { PreviewLinkError, previewKey, verifyPreviewToken } from "@/lib/preview";

export async function GET(request: Request): Promise<Response> {
  await connection();
  const token = new URL(request.url).searchParams.get("token");
  try {
    const { slug } = await verifyPreviewToken(token, previewKey());
    (await draftMode()).enable();
    return new Response(null, {
      status: 307,
      headers: { Location: `/posts/${slug}`, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" },
    });
  } catch (error) {
    const problem =
      error instanceof PreviewLinkError
        ? error
        : new PreviewLinkError("invalid", "This preview link could not be opened. Ask for a new one.");
    if (!(error instanceof PreviewLinkError)) console.error("preview link failed:", error);
    return problemPage(problem);
  }
}

function problemPage(problem: PreviewLinkError): Response {
  const status = problem.reason === "unavailable" ? 503 : problem.reason === "expired" ? 410 : 401;
  const title = problem.reason === "expired" ? "Preview link expired" : "Preview link not valid";
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><meta name="viewport" content="width=device-width"><title>${title}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}</style></head><body><main><h1 data-testid="preview-error">${title}</h1><p>${escapeHtml(problem.message)}</p><p><a href="/">Go to the site</a></p></main></body></html>`;
  return new Response(body, {
    status,
    headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" },
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
