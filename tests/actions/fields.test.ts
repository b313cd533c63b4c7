/** The helpers every action's schema and messages use (lib/actions.ts), and sign-in's return path. */
import { describe, expect, it } from "vitest";
import { safeNextPath } from "@/app/admin/next-path";
import { textField, tryAgainIn } from "@/lib/actions";

describe("textField", () => {
  it("builds its messages from the label", () => {
    const field = textField("a nickname", 5);
    expect(field.safeParse("").error?.issues[0]?.message).toBe("Enter a nickname.");
    expect(field.safeParse("toolong").error?.issues[0]?.message).toBe(
      "A nickname can be at most 5 characters.",
    );
  });
});

describe("safeNextPath (where sign-in returns to)", () => {
  it("allows the admin page and edit pages only", () => {
    expect(safeNextPath("/admin")).toBe("/admin");
    expect(safeNextPath("/posts/hello-world/edit")).toBe("/posts/hello-world/edit");
  });

  it.each([
    "https://evil.example/admin",
    "//evil.example/admin",
    "/\\evil.example",
    "/posts/hello-world",
    "/posts/../admin/edit",
    "/admin?x=1",
    "",
    null,
    undefined,
  ])("sends %j to /admin instead", (value) => {
    expect(safeNextPath(value)).toBe("/admin");
  });
});

describe("tryAgainIn", () => {
  it("rounds up to whole minutes, at least one", () => {
    const now = 1_000_000;
    expect(tryAgainIn(now + 1, now)).toBe("1 minute");
    expect(tryAgainIn(now - 5_000, now)).toBe("1 minute");
    expect(tryAgainIn(now + 60_001, now)).toBe("2 minutes");
    expect(tryAgainIn(now + 15 * 60_000, now)).toBe("15 minutes");
  });
});
