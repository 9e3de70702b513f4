import { PageHeader } from '../../ui/page-header';

export function DevicesPage() {
  return <PageHeader title="Devices" />;
}
