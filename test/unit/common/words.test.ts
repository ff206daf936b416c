import { describe, expect, it } from 'vitest';
import { possessive } from '../../../common/words.js';

describe('possessive', () => {
  it("adds 's, or only ' after a final s", () => {
    expect([possessive('Resend'), possessive('Loops')]).toEqual(["Resend's", "Loops'"]);
  });
});
