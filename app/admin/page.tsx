import type { Metadata } from "next";
import Link from "next/link";
import { connection } from "next/server";
import { editingEnabled, hasAdminSession } from "@/lib/session";
import { signOut } from "./actions";
import { EditingDisabled } from "./editing-disabled";
import { safeNextPath } from "./next-path";
import { PostList } from "./post-list";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Admin", robots: { index: false } };

type Props = { searchParams: Promise<{ next?: string | string[] }> };

// A blocking, per-request route (no static shell, no streamed holes): the whole page arrives in
// one response, so signing in works with JavaScript off.
export const instant = false;

export default function AdminPage({ searchParams }: Props) {
  return (
    <>
      <h1>Admin</h1>
      <AdminPanel searchParams={searchParams} />
    </>
  );
}

async function AdminPanel({ searchParams }: Props) {
  // Per request, never prerendered: the session check reads the clock (token expiry) and may read Redis.
  await connection();
  if (!editingEnabled()) return <EditingDisabled />;
  if (!(await hasAdminSession())) {
    const { next } = await searchParams;
    return (
      <section className="card" aria-labelledby="sign-in-heading">
        <h2 id="sign-in-heading">Sign in</h2>
        <SignInForm next={safeNextPath(typeof next === "string" ? next : undefined)} />
      </section>
    );
  }

  return (
    <>
      <section className="card" aria-labelledby="admin-heading">
        <div className="admin-bar">
          <h2 id="admin-heading">Signed in</h2>
          <Link href="/admin/revalidations" data-testid="activity-link">
            Revalidations
          </Link>
          <form action={signOut}>
            <button type="submit" className="secondary">
              Sign out
            </button>
          </form>
        </div>
      </section>
      {/* The blog demo's part of this page. */}
      <PostList />
    </>
  );
}
