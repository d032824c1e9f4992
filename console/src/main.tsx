/**
 * The web console: sign-in, then the catalog, the setup flow, the service
 * table and a service's page, routed by the URL fragment.
 */
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { apiFor, loadSession, redeemSignInCode, type Session, saveSession, whenUnauthorized } from "./api";
import { CatalogPage, SetupPage } from "./catalog";
import { ServicePage } from "./service";
import { ServicesPage } from "./services";
import { SignInPage } from "./sign-in";
import { useHash } from "./util";

/** A sign-in link's code, read once from the fragment and removed from the address and history. */
function takeSignInCode(): string | undefined {
  const m = /^#signin=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (!m) return undefined;
  history.replaceState(null, "", `${location.pathname}#/services`);
  return m[1];
}

function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const [code] = useState(takeSignInCode);
  const [signInError, setSignInError] = useState<string>();
  const hash = useHash();

  const signIn = (s: Session | undefined) => {
    saveSession(s);
    setSession(s);
  };
  useEffect(() => whenUnauthorized(() => signIn(undefined)), []);
  useEffect(() => {
    if (!code) return;
    redeemSignInCode(code).then(signIn, (err: unknown) =>
      setSignInError(`That sign-in link did not work (${err instanceof Error ? err.message : String(err)}).`),
    );
  }, [code]);
  const api = useMemo(() => (session ? apiFor(session) : undefined), [session]);

  if (!session || !api) return <SignInPage onSignIn={signIn} error={signInError} />;

  const [, page = "services", a = "", b = ""] = hash.replace(/^#/, "").split("/").map(decodeURIComponent);
  let main: preact.JSX.Element;
  if (page === "catalog") main = <CatalogPage api={api} />;
  else if (page === "setup") main = <SetupPage api={api} session={session} name={a} version={b} />;
  else if (page === "services" && a) main = <ServicePage api={api} id={a} tab={b || "overview"} />;
  else main = <ServicesPage api={api} />;
  const current = page === "setup" ? "catalog" : page === "catalog" ? "catalog" : "services";

  return (
    <>
      <button
        type="button"
        class="skip"
        onClick={() => {
          // The fragment routes pages, so no "#main" link: focus moves without changing it.
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </button>
      <header class="top">
        <span class="brand">Landform</span>
        <nav aria-label="Main">
          <a href="#/services" aria-current={current === "services" ? "page" : undefined}>
            Managed Services
          </a>
          <a href="#/catalog" aria-current={current === "catalog" ? "page" : undefined}>
            Catalog
          </a>
        </nav>
        <span class="muted">Team {session.team}</span>
        <button type="button" class="secondary" onClick={() => signIn(undefined)}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {main}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
