import './settings.css';

import { useCan } from '../../auth/session';
import { PageHeader } from '../../ui/page-header';
import { QueryState } from '../../ui/query-state';
import { AllSettingsSection } from './all-settings-section';
import { ClientConfigSection } from './client-config-section';
import { ClientServersSection } from './client-servers-section';
import { RegistrationPolicySection } from './registration-policy-section';
import { RelayNodesSection } from './relay-nodes-section';
import { REGISTRATION_POLICY_KEY, useSettings } from './settings-api';

/**
 * Server settings: the registration policy, what clients are told to use and the configuration they
 * import, the live relay nodes, and every stored key.
 * setting.view reads them; only setting.manage gets the controls (the api refuses anyone else).
 */
export function SettingsPage() {
  const canManage = useCan('setting.manage');
  // GET /api/v1/server-info is device.view's (operators hand the configuration out too).
  const canSeeServerInfo = useCan('device.view');
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
            {canSeeServerInfo && <ClientConfigSection />}
            <RelayNodesSection />
            <AllSettingsSection settings={list} canManage={canManage} />
          </>
        )}
      </QueryState>
    </>
  );
}
