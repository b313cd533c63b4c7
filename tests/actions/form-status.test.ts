/**
 * The form-level status (app/_components/form-field.tsx), rendered to HTML as the server does: an
 * error for a field the form shows no control for (a hidden input, a button's value) is never lost,
 * whatever the field is called.
 */
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { FormStatus } from "@/app/_components/form-field";
import type { ActionState } from "@/lib/action-state";

type Field = "title" | "body" | "slug" | "intent";
const render = (state: ActionState<Field>) =>
  renderToStaticMarkup(createElement(FormStatus<Field>, { state, fields: ["title", "body"] }));

describe("FormStatus", () => {
  it.each([
    ["slug", "This form belongs to no known post. Reload the page."],
    ["intent", "Press Publish or Save draft."],
  ] as const)("shows an error for the hidden field %s in place of the general message", (field, error) => {
    const html = render({
      status: "error",
      message: "Some fields need attention.",
      fieldErrors: { [field]: error },
    });
    expect(html).toContain(error);
    expect(html).not.toContain("Some fields need attention.");
  });

  it("leaves errors of the fields shown beside their controls to those controls", () => {
    const html = render({
      status: "error",
      message: "Some fields need attention.",
      fieldErrors: { title: "Enter a title." },
    });
    expect(html).toContain("Some fields need attention.");
    expect(html).not.toContain("Enter a title.");
  });

  it("shows a success message, and nothing before the first submission", () => {
    expect(render({ status: "success", message: "Saved." })).toContain("Saved.");
    expect(render({ status: "idle" })).not.toContain("<p");
  });
});
