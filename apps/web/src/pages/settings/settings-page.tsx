import './settings.css';

import { useCan } from '../../auth/session';
import { PageHeader } from '../../ui/page-header';
import { QueryState } from '../../ui/query-state';
import { AllSettingsSection } from './all-settings-section';
import { ClientServersSection } from './client-servers-section';
import { RegistrationPolicySection } from './registration-policy-section';
import { REGISTRATION_POLICY_KEY, useSettings } from './settings-api';

/**
 * Server settings: the registration policy, what clients are told to use, and every stored key.
 * setting.view reads them; only setting.manage gets the controls (the api refuses anyone else).
 */
export function SettingsPage() {
  const canManage = useCan('setting.manage');
  const settings = useSettings();
  return (
    <>
      <PageHeader title="Settings" />
      <QueryState query={settings}>
        {(list) => (
          <>
            {!canManage && (
              <p className="notice" role="note">
                You can see the settings but not change them.
              </p>
            )}
            <RegistrationPolicySection
              setting={list.find((setting) => setting.key === REGISTRATION_POLICY_KEY)}
              canManage={canManage}
            />
            <ClientServersSection settings={list} canManage={canManage} />
            <AllSettingsSection settings={list} canManage={canManage} />
          </>
        )}
      </QueryState>
    </>
  );
}
