/** The pieces every form of the console ends with: what went wrong, then a way back and the submit. */

/** The last request's error, announced to screen readers; nothing when there is none. */
export function ErrorNote(props: { error: string | undefined }) {
  if (!props.error) return null;
  return (
    <p role="alert" class="error">
      {props.error}
    </p>
  );
}

/**
 * The button row under a form: a secondary way back (a link when `back` has
 * an `href`, else a button) and the form's submit button.
 */
export function FormActions(props: {
  back: { label: string; href: string } | { label: string; onClick: () => void };
  submit: string;
  /** A submit that destroys something looks the part. */
  danger?: boolean;
  disabled?: boolean;
}) {
  const { back } = props;
  return (
    <div class="actions">
      {"href" in back ? (
        <a class="button secondary" href={back.href}>
          {back.label}
        </a>
      ) : (
        <button type="button" class="secondary" onClick={back.onClick}>
          {back.label}
        </button>
      )}
      <button type="submit" class={props.danger ? "danger" : undefined} disabled={props.disabled}>
        {props.submit}
      </button>
    </div>
  );
}
