import { describe, expect, it } from 'vitest';
import {
  type ContactFields,
  fieldsAfterSync,
  fieldsToPatch,
  hashFields,
  hashFieldValue,
  nameFields,
  patchOfFields,
  propertyFields,
} from '../../../common/field-changes.js';

const app: ContactFields = {
  ...nameFields('Ada', 'Lovelace'),
  ...propertyFields({ plan: 'pro', seats: 3 }),
};

describe('which fields a run patches', () => {
  it('patches nothing when every field is as last sent', () => {
    expect(fieldsToPatch(app, { lastSeen: hashFields(app) })).toEqual({});
  });

  it('patches exactly the fields that changed since they were last sent, nulls included', () => {
    const sent = hashFields(app);
    const now = { ...app, last_name: 'King', 'properties.seats': 4, 'properties.plan': null };
    expect(fieldsToPatch(now, { lastSeen: sent })).toEqual({
      last_name: 'King',
      'properties.seats': 4,
      'properties.plan': null,
    });
  });

  it('tells a number from the same digits as text', () => {
    expect(hashFieldValue(3)).not.toBe(hashFieldValue('3'));
    expect(hashFieldValue(null)).not.toBe(hashFieldValue(''));
    const sent = hashFields({ 'properties.seats': '3' });
    expect(fieldsToPatch({ 'properties.seats': 3 }, { lastSeen: sent })).toEqual({
      'properties.seats': 3,
    });
  });

  it('at a first meeting fills only the fields the platform has empty', () => {
    expect(
      fieldsToPatch(app, { emptyOnPlatform: new Set(['last_name', 'properties.plan']) }),
    ).toEqual({ last_name: 'Lovelace', 'properties.plan': 'pro' });
  });

  it('at a first meeting keeps everything when the platform cannot say what is empty', () => {
    expect(fieldsToPatch(app, {})).toEqual({});
  });

  it('never fills an empty field with nothing, nor clears one at a first meeting', () => {
    const fields = { ...nameFields('', null), ...propertyFields({ plan: null }) };
    expect(fields).toEqual({ first_name: null, last_name: null, 'properties.plan': null });
    expect(
      fieldsToPatch(fields, { emptyOnPlatform: new Set(['first_name', 'properties.plan']) }),
    ).toEqual({});
  });

  it('sends a property mapped after the contact was met when the app has a value', () => {
    const names = nameFields('Ada', 'Lovelace');
    expect(fieldsToPatch(app, { lastSeen: hashFields(names) })).toEqual({
      'properties.plan': 'pro',
      'properties.seats': 3,
    });
  });

  it('remembers the app values after a sync, keeping hashes of fields no longer mapped', () => {
    const before = hashFields({ ...app, 'properties.company': 'Acme' });
    const after = fieldsAfterSync(nameFields('Ada', 'King'), before);
    expect(after).toEqual({
      ...before,
      last_name: hashFieldValue('King'),
    });
    expect(fieldsToPatch(nameFields('Ada', 'King'), { lastSeen: after })).toEqual({});
  });
});

describe('a patch at the platform boundary', () => {
  it('carries names and properties separately, never a subscription', () => {
    expect(patchOfFields({ first_name: 'Ada', last_name: null, 'properties.plan': 'pro' })).toEqual(
      { firstName: 'Ada', lastName: null, properties: { plan: 'pro' } },
    );
    expect(patchOfFields({ 'properties.seats': null })).toEqual({ properties: { seats: null } });
    expect(patchOfFields({ first_name: 'Ada' })).toEqual({ firstName: 'Ada' });
  });
});
