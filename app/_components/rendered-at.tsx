/**
 * Shows when a cached block was rendered, so a person can watch caching at work: the time stays
 * the same across reloads until a tag the block reads is invalidated.
 */
export function RenderedAt({ at, label = "Rendered" }: { at: string; label?: string }) {
  return (
    <p className="rendered-at" data-testid="rendered-at">
      {label} <time dateTime={at}>{at.slice(11, 19)} UTC</time>
    </p>
  );
}
