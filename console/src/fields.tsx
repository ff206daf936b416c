import type { ComponentChildren } from 'preact';

/** A labelled text box (or, with `rows`, a text area) with an optional hint read out with it. */
export function TextField(props: {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: ComponentChildren;
  rows?: number;
  required?: boolean;
  inputMode?: 'numeric';
}) {
  const { id, label, value, onValue, hint, rows } = props;
  const described = hint ? { 'aria-describedby': `${id}-hint` } : {};
  const shared = { id, value, required: props.required ?? false, ...described };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {rows ? (
        <textarea {...shared} rows={rows} onInput={(event) => onValue(event.currentTarget.value)} />
      ) : (
        <input
          {...shared}
          {...(props.inputMode ? { inputMode: props.inputMode } : {})}
          onInput={(event) => onValue(event.currentTarget.value)}
        />
      )}
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** One option of a radio group, or a checkbox, with its label and an optional hint. */
export function Choice(props: {
  id: string;
  label: string;
  checked: boolean;
  onCheck: (checked: boolean) => void;
  /** A radio button of this group; a checkbox without. */
  group?: string;
  hint?: ComponentChildren;
}) {
  const { id, hint } = props;
  return (
    <>
      <div class="check">
        <input
          id={id}
          type={props.group ? 'radio' : 'checkbox'}
          {...(props.group ? { name: props.group } : {})}
          checked={props.checked}
          onChange={(event) => props.onCheck(event.currentTarget.checked)}
          {...(hint ? { 'aria-describedby': `${id}-hint` } : {})}
        />
        <label for={id}>{props.label}</label>
      </div>
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </>
  );
}
