import { cacheLife, cacheTag } from "next/cache";

async function getPost(): Promise<{ title: string; renderedAt: string }> {
  "use cache";
  cacheLife("days");
  cacheTag("post:hello-world");
  return { title: "Hello, world", renderedAt: new Date().toISOString() };
}

export default async function Page() {
  const post = await getPost();
  return (
    <main>
      <h1>{post.title}</h1>
      <p>Rendered at {post.renderedAt}</p>
    </main>
  );
}
