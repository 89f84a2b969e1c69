import { invalidValue } from './errors';
import type { UnitOfWork } from './ports';
import { parseSetting, settingsFrom, type InstanceSettings } from './settings';

/** Reads and changes instance settings (an operator's job: the CLI, never SCIM). */
export class SettingsService {
  constructor(private readonly uow: UnitOfWork) {}

  get(): Promise<InstanceSettings> {
    return this.uow.read(async (r) => settingsFrom(await r.settings.all()));
  }

  /** Sets one key from its text form; returns the settings after the change. */
  async set(key: string, text: string): Promise<InstanceSettings> {
    const value = parseSetting(key, text);
    return this.uow.write(async (r) => {
      const before = settingsFrom(await r.settings.all());
      await r.settings.set(key, value);
      const after = settingsFrom(await r.settings.all());
      if (after.passwordPolicy.minLength > after.passwordPolicy.maxLength) {
        throw invalidValue('settings.invalid_value', 'passwordPolicy.minLength must not exceed passwordPolicy.maxLength');
      }
      await r.audit.record({
        organizationId: null,
        credentialId: null,
        actor: 'cli',
        action: 'settings.changed',
        targetType: 'settings',
        targetName: key,
        details: { key, from: valueAt(before, key), to: value },
      });
      return after;
    });
  }
}

function valueAt(settings: InstanceSettings, key: string): unknown {
  return key.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], settings);
}
