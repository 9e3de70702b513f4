import { PageHeader } from '../../ui/page-header';

export function ApiKeysPage() {
  return <PageHeader title="API keys" />;
}
