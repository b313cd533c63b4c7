import type { Metadata, Viewport } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Fresh Pages", template: "%s · Fresh Pages" },
  description:
    "A Next.js 16 starter that keeps cached pages fresh: tagged reads, signed webhooks, read-your-writes Server Actions.",
  icons: { icon: "/favicon.svg" },
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="site-header">
          <nav aria-label="Site" className="container nav">
            <Link href="/" className="brand">
              Fresh Pages
            </Link>
            <Link href="/admin">Admin</Link>
          </nav>
        </header>
        <main id="main" className="container">
          {children}
        </main>
        <footer className="site-footer">
          <p className="container">
            Cached with <code>&apos;use cache&apos;</code>, refreshed by tag. Each block shows when it was
            rendered.
          </p>
        </footer>
      </body>
    </html>
  );
}
