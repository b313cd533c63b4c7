import Link from "next/link";

export default function NotFound() {
  return (
    <section className="card" aria-labelledby="not-found-heading">
      <h1 id="not-found-heading">Page not found</h1>
      <p>There is no page at this address. It may have been renamed or removed.</p>
      <p>
        <Link href="/">Back to all posts</Link>
      </p>
    </section>
  );
}
