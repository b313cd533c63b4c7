import type { Metadata } from "next";
import Link from "next/link";
import { connection } from "next/server";
import { failFastRedis } from "@/lib/redis";
import { type ActivityEntry, findActivity, OUTCOMES, readActivity } from "@/lib/revalidation/activity";
import { ID_PATTERN } from "@/lib/revalidation/request";
import { editingEnabled, hasAdminSession } from "@/lib/session";
import { EditingDisabled } from "../editing-disabled";
import { SignInForm } from "../sign-in-form";

export const metadata: Metadata = { title: "Revalidations", robots: { index: false } };

type Props = { searchParams: Promise<{ id?: string | string[] }> };

/** The newest revalidations shown; the log keeps more (ACTIVITY_LENGTH), the lookup searches them all. */
const SHOWN = 100;

// Per request, never cached: an operator must see a revalidation right after it happened.
export const instant = false;

export default function RevalidationsPage({ searchParams }: Props) {
  return (
    <>
      <h1>Revalidations</h1>
      <Activity searchParams={searchParams} />
    </>
  );
}

async function Activity({ searchParams }: Props) {
  await connection();
  if (!editingEnabled()) return <EditingDisabled />;
  if (!(await hasAdminSession())) {
    return (
      <section className="card" aria-labelledby="sign-in-heading">
        <h2 id="sign-in-heading">Sign in to see revalidations</h2>
        <SignInForm next="/admin/revalidations" />
      </section>
    );
  }
  const { id: rawId } = await searchParams;
  const id = typeof rawId === "string" ? rawId.trim() : "";
  const redis = failFastRedis();
  const [{ recent, lastHour, lastDay }, found] = await Promise.all([
    readActivity(redis, { limit: SHOWN, now: new Date() }),
    id && ID_PATTERN.test(id) ? findActivity(redis, id) : Promise.resolve(null),
  ]);

  return (
    <>
      <p>
        <Link href="/admin">← Admin</Link> · Every webhook whose token verified, newest first. A sender can
        ask for one of its own with <code>GET /api/revalidate/&lt;id&gt;</code> or{" "}
        <code>npm run revalidate -- --status &lt;id&gt;</code>.
      </p>

      <section className="card" aria-labelledby="counts-heading">
        <h2 id="counts-heading">By outcome</h2>
        <table className="activity" data-testid="activity-counts">
          <thead>
            <tr>
              <th scope="col">period</th>
              {OUTCOMES.map((outcome) => (
                <th scope="col" key={outcome}>
                  {outcome}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {[
              ["this hour", lastHour],
              ["last 24 hours", lastDay],
            ].map(([label, counts]) => (
              <tr key={String(label)}>
                <th scope="row">{String(label)}</th>
                {OUTCOMES.map((outcome) => (
                  <td key={outcome}>{typeof counts === "object" ? counts[outcome] : 0}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section className="card" aria-labelledby="lookup-heading">
        <h2 id="lookup-heading">Look up an ID</h2>
        <form method="get" className="lookup">
          <label htmlFor="lookup-id">Revalidation ID</label>{" "}
          <input id="lookup-id" name="id" defaultValue={id} maxLength={200} required />{" "}
          <button type="submit">Look up</button>
        </form>
        {id && !ID_PATTERN.test(id) ? (
          <p className="form-error">
            That is not a revalidation ID (1 to 200 of A-Z a-z 0-9 . _ : @ / + = -).
          </p>
        ) : null}
        {found ? (
          found.length === 0 ? (
            <p data-testid="lookup-result">No request for {JSON.stringify(id)} among the latest 1000.</p>
          ) : (
            <ActivityTable entries={found} testId="lookup-result" />
          )
        ) : null}
      </section>

      <section className="card" aria-labelledby="recent-heading">
        <h2 id="recent-heading">Latest {SHOWN}</h2>
        {recent.length === 0 ? <p>None yet.</p> : <ActivityTable entries={recent} testId="activity-recent" />}
      </section>
    </>
  );
}

function ActivityTable({ entries, testId }: { entries: ActivityEntry[]; testId: string }) {
  return (
    <div className="table-scroll">
      <table className="activity" data-testid={testId}>
        <thead>
          <tr>
            <th scope="col">time (UTC)</th>
            <th scope="col">sender</th>
            <th scope="col">ID</th>
            <th scope="col">tags</th>
            <th scope="col">outcome</th>
            <th scope="col">de-duplicated</th>
            <th scope="col">latency</th>
            <th scope="col">request ID</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.requestId}>
              <td>{entry.at.replace("T", " ").slice(0, 19)}</td>
              <td>{entry.iss}</td>
              <td>{entry.id ?? "—"}</td>
              <td>{entry.tags.join(", ") || "—"}</td>
              <td>
                {entry.outcome}
                {entry.code ? ` (${entry.status} ${entry.code})` : ""}
              </td>
              <td>{entry.deduplicated ? "yes" : "no"}</td>
              <td>{entry.latencyMs} ms</td>
              <td>
                <code>{entry.requestId}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
