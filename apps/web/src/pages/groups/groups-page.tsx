import { PageHeader } from '../../ui/page-header';

export function GroupsPage() {
  return <PageHeader title="Groups" />;
}
