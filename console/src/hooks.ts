import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  value: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload(): void;
}

export interface LoadOptions<T> {
  /** Load again after this many milliseconds (undefined: stop), given what was loaded last. */
  refreshMs?: (value: T | undefined) => number | undefined;
}

/**
 * Loads what a screen shows, again whenever `key` changes, and keeps it fresh while
 * `refreshMs` says so (a run in progress). A screen that is left stops its requests.
 */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key: string,
  options: LoadOptions<T> = {},
): Loaded<T> {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  const latest = useRef({ load, options });
  latest.current = { load, options };

  // key and round say when to load again; the loader is read from a ref.
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      let loaded: T | undefined;
      try {
        loaded = await latest.current.load(controller.signal);
        if (controller.signal.aborted) return;
        setValue(loaded);
        setError(undefined);
      } catch (failure) {
        if (controller.signal.aborted) return;
        setError(failure instanceof Error ? failure.message : String(failure));
      } finally {
        if (!controller.signal.aborted) setLoading(false);
      }
      const next = latest.current.options.refreshMs?.(loaded);
      if (next !== undefined && !controller.signal.aborted) timer = setTimeout(run, next);
    };
    setLoading(true);
    void run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [key, round]);

  const reload = useCallback(() => setRound((current) => current + 1), []);
  return { value, error, loading, reload };
}

/** Runs an action from a button: whether it is busy, and its error message. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = useCallback(async <T>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}
