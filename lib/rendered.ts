/**
 * What a cached read hands a page: the data and when it was rendered. Pages show the time
 * (app/_components/rendered-at.tsx) so a person can watch caching at work: it stays the same across
 * reloads until a tag the read carries is invalidated.
 */
export type Rendered<T> = { data: T; renderedAt: string };

/** `data`, stamped with the time of this render. Call it inside the `'use cache'` function. */
export function rendered<T>(data: T): Rendered<T> {
  return { data, renderedAt: new Date().toISOString() };
}
