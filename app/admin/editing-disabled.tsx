/** Shown instead of the sign-in form when ADMIN_PASSWORD is unset: the site works, editing is off. */
export function EditingDisabled() {
  return (
    <p className="notice" data-testid="editing-disabled">
      Editing is disabled: no admin password is configured. Set <code>ADMIN_PASSWORD</code> (at least 12
      characters) in the environment and restart to enable it. The rest of the site works as usual.
    </p>
  );
}
