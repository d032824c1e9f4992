/** Sign-in with an API token (the same token every other client uses) and a team. */
import { useState } from "preact/hooks";
import type { Session } from "./api";
import { ErrorNote } from "./form-parts";

export function SignInPage(props: { onSignIn: (s: Session) => void; error?: string | undefined }) {
  const [token, setToken] = useState("");
  const [team, setTeam] = useState("1");
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to Landform</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          props.onSignIn({ token: token.trim(), team: Number(team) });
        }}
      >
        <div class="field">
          <label for="signin-token">API token</label>
          <input
            id="signin-token"
            type="password"
            autocomplete="off"
            required
            value={token}
            aria-describedby="signin-token-help"
            onInput={(e) => setToken(e.currentTarget.value)}
          />
          <p class="help" id="signin-token-help">
            Kept in this browser tab only (session storage) and sent to this server's API.
          </p>
        </div>
        <div class="field">
          <label for="signin-team">Team ID</label>
          <input
            id="signin-team"
            type="number"
            min={0}
            required
            value={team}
            onInput={(e) => setTeam(e.currentTarget.value)}
          />
        </div>
        <ErrorNote error={props.error} />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
