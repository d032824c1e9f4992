/** Deletion, confirmed by typing the service's exact name (as on the platform's page). */
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNote, FormActions } from "./form-parts";

export function DeleteDialog(props: { name: string; onCancel: () => void; onConfirm: () => Promise<void> }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<string>();
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="delete-title" onCancel={props.onCancel} class="dialog">
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          props
            .onConfirm()
            .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
        }}
      >
        <h2 id="delete-title">Delete {props.name}?</h2>
        <p>
          The service is deleted. With backups enabled its record and backups are kept for the retention
          period and it is listed under "Show recently deleted".
        </p>
        <div class="field">
          <label for="delete-confirm">Type the service's name to confirm</label>
          <input
            id="delete-confirm"
            autocomplete="off"
            value={typed}
            onInput={(e) => setTyped(e.currentTarget.value)}
          />
        </div>
        <ErrorNote error={error} />
        <FormActions
          back={{ label: "Cancel", onClick: props.onCancel }}
          submit="Delete service"
          danger
          disabled={typed !== props.name}
        />
      </form>
    </dialog>
  );
}
