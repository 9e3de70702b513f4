import { PageHeader } from '../../ui/page-header';

export function TokensPage() {
  return <PageHeader title="Registration tokens" />;
}
